"""MIPv6 signalling crosses m6t unmodified, through the real NAT, across a move (draft sections
2.4, 3, 4; RFC 6275 sections 6.1.7, 6.1.8, 6.3, 6.4).

UMIP cannot run here (this kernel has no MIPv6 and no IPv6-in-IPv6 tunnel), so the test plays the
mobile node and the home agent with packets it builds with scapy: the MN's side writes them into
m6t0 (what mip6d would send from its care-of address), the HA's side sends them routed from the
HA's namespace, and each side records what arrives (helpers/sniff6.py, whole packets).

The kernels at both ends do not understand the Home Address option, the type 2 routing header or
IPv6-in-IPv6 and would answer each with an ICMPv6 Parameter Problem; the test drops those on
their way out, so that the Binding Acknowledgement is the HA's first answer, as with a real HA.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time

import pytest
from scapy.layers.inet6 import (HAO, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU)

import topology as T

pytestmark = pytest.mark.m6t

SEND6 = T.HELPERS / "send6.py"
HOA = "2001:db8:1::100"   # the MN's home address (examples/umip/mip6d-mn.conf)
CN = "2001:db8:3::5"      # a correspondent node beyond the HA
ACTIVE_S = 6              # the gateway's active lifetime: the old state goes this long after
LIFETIME_UNITS = 15       # the binding's lifetime, in 4 s units (RFC 6275 6.1.7)
MH_BU, MH_BA = 5, 6


def same(a: str, b: str) -> bool:
    return ipaddress.IPv6Address(a) == ipaddress.IPv6Address(b)


def no_param_problems(ns: T.Namespace) -> None:
    ns.nft("""
table ip6 m6tnomip6 {
  chain output {
    type filter hook output priority filter; policy accept;
    icmpv6 type parameter-problem counter drop
  }
}
""")


def send_from_mn(topo: T.Topology, pkt) -> bytes:
    data = bytes(pkt)
    topo.mn.run([T.PYTHON, SEND6, "--hex", data.hex(), "--iface", "m6t0"])
    return data


def send_from_ha(topo: T.Topology, pkt) -> bytes:
    data = bytes(pkt)
    topo.ha.run([T.PYTHON, SEND6, "--hex", data.hex(), "--routed"])
    return data


def arrived(topo: T.Topology, cap: T.Sniffer, sent: bytes, what: str, hops: int = 1) -> bytes:
    """Waits for `sent` to arrive at `cap`, received: identical but for the hop limit, which
    each router on the way (the gateway) decrements.  Returns the packet as received."""
    want = sent[:7] + bytes([sent[7] - hops]) + sent[8:]

    def seen():
        for r in cap.records():
            if r["dir"] == "in" and bytes.fromhex(r["hex"]) == want:
                return want
        return None
    return topo.wait_until(seen, 5, f"{what} to arrive unmodified ({cap.proc.name})",
                           interval=0.05)


def bu(coa: str, seq: int):
    # RFC 6275 6.1.7: to the HA (H), acknowledge (A), from the care-of address with the home
    # address in a Home Address option.
    return (IPv6(src=coa, dst=T.HA_ADDR, hlim=64) /
            IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) /
            MIP6MH_BU(seq=seq, flags="AH", mhtime=LIFETIME_UNITS))


def ba(coa: str, seq: int):
    # RFC 6275 6.1.8, 6.4: to the care-of address, with the home address in a type 2 routing
    # header; status 0: accepted.
    return (IPv6(src=T.HA_ADDR, dst=coa, hlim=64) /
            IPv6ExtHdrRouting(type=2, addresses=[HOA], segleft=1) /
            MIP6MH_BA(status=0, flags=0, seq=seq, mhtime=LIFETIME_UNITS))


def mh_checksum(mh: bytes, src: str, dst: str) -> int:
    """The one's complement sum over the pseudo-header and the Mobility Header as received
    (RFC 6275 6.1.1), folded and complemented: 0 when the checksum in it is right.  Computed
    here, not by scapy, whose re-computation on a parsed packet ignores the Home Address."""
    data = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            struct.pack("!I", len(mh)) + b"\0\0\0\x87" + mh)
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def check_bu(raw: bytes, coa: str, seq: int) -> None:
    p = IPv6(raw)
    assert same(p.src, coa) and p.haslayer(MIP6MH_BU), p.summary()
    assert p[MIP6MH_BU].mhtype == MH_BU and p[MIP6MH_BU].seq == seq
    assert same(p[HAO].hoa, HOA), p[HAO].hoa
    # The checksum still holds; its pseudo-header has the home address as source (6.3).
    assert mh_checksum(bytes(p[MIP6MH_BU]), HOA, T.HA_ADDR) == 0


def check_ba(raw: bytes, coa: str, seq: int) -> None:
    p = IPv6(raw)
    assert same(p.dst, coa) and p.haslayer(MIP6MH_BA), p.summary()
    assert p[MIP6MH_BA].mhtype == MH_BA and p[MIP6MH_BA].status == 0
    assert p[MIP6MH_BA].seq == seq
    assert p[IPv6ExtHdrRouting].type == 2 and same(p[IPv6ExtHdrRouting].addresses[0], HOA)
    # The pseudo-header's destination is the final one, the home address (RFC 8200 8.1).
    assert mh_checksum(bytes(p[MIP6MH_BA]), T.HA_ADDR, HOA) == 0


def tunnelled_both_ways(topo, mn_cap, ha_cap, coa: str, ident: int) -> None:
    """IPv6-in-IPv6 from the HA to the care-of address reaches the home address, and the MN's
    reply goes back reverse-tunnelled (RFC 6275: the HA's and the MN's tunnelling)."""
    payload = f"m6t mipv6 {ident}".encode()
    down = (IPv6(src=T.HA_ADDR, dst=coa, hlim=64) /
            IPv6(src=CN, dst=HOA, hlim=63) / ICMPv6EchoRequest(id=ident, seq=1, data=payload))
    got = IPv6(arrived(topo, mn_cap, send_from_ha(topo, down), "IPv6-in-IPv6 to the CoA"))
    assert got.nh == 41 and same(got.dst, coa)
    inner = got[IPv6][1]
    assert same(inner.dst, HOA) and same(inner.src, CN)
    assert inner[ICMPv6EchoRequest].data == payload
    up = (IPv6(src=coa, dst=T.HA_ADDR, hlim=64) /
          IPv6(src=HOA, dst=CN, hlim=64) / ICMPv6EchoReply(id=ident, seq=1, data=payload))
    back = IPv6(arrived(topo, ha_cap, send_from_mn(topo, up), "the reverse-tunnelled reply"))
    assert back.nh == 41 and same(back[IPv6][1].src, HOA)
    assert back[ICMPv6EchoReply].data == payload


def test_binding_update_and_ack_cross_m6t_activate_the_state_and_follow_a_move(
        make_topology, m6t_bin, measure):
    topo = make_topology(second_uplink=True)
    gw = topo.start_gateway(extra=["--active-lifetime-s", str(ACTIVE_S)])
    cl = topo.start_client(extra=["--keepalive-s", "2"])
    coa1 = topo.wait_client_address(cl)
    assert topo.gw_state(gw.show_json(), coa1) is None  # nothing sent yet
    no_param_problems(topo.mn)
    no_param_problems(topo.ha)
    mn_cap = T.Sniffer(topo, topo.mn, "m6t0", "mn-m6t0", min_len=0, hexdump=True)
    ha_cap = T.Sniffer(topo, topo.ha, "home0", "ha-home0", min_len=0, hexdump=True)

    # 1. The Binding Update from the care-of address reaches the HA: the gateway holds a
    #    temporary state for it, not yet answered (section 2.4).
    t0 = time.monotonic()
    got = arrived(topo, ha_cap, send_from_mn(topo, bu(coa1, 1)), "BU 1")
    check_bu(got, coa1, 1)
    s = topo.gw_state(gw.show_json(), coa1)
    assert s is not None and s["kind"] == "temporary", s

    # 2. The Binding Acknowledgement, the HA's reply to the first packet, comes back and
    #    activates the state (section 4).
    got = arrived(topo, mn_cap, send_from_ha(topo, ba(coa1, 1)), "BA 1")
    check_ba(got, coa1, 1)
    measure("MIPv6 registration (BU -> BA) through m6t", time.monotonic() - t0)
    g = gw.show_json()
    s = topo.gw_state(g, coa1)
    assert s is not None and s["kind"] == "active", s
    assert g["state_stats"]["activated"] == 1, g["state_stats"]
    tunnelled_both_ways(topo, mn_cap, ha_cap, coa1, 1)

    # 3. The MN moves to another IPv4 network: a new care-of address, a new BU from it,
    #    acknowledged; IPv6-in-IPv6 follows to the new address.
    topo.mn.ip("link", "set", "eth0", "down")
    t_move = time.monotonic()
    coa2 = topo.wait_client_address(cl, timeout=15, different_from=coa1)
    got = arrived(topo, ha_cap, send_from_mn(topo, bu(coa2, 2)), "BU 2")
    check_bu(got, coa2, 2)
    got = arrived(topo, mn_cap, send_from_ha(topo, ba(coa2, 2)), "BA 2")
    check_ba(got, coa2, 2)
    measure("move -> new CoA registered (BA 2 at the MN)", time.monotonic() - t_move)
    g = gw.show_json()
    s2 = topo.gw_state(g, coa2)
    assert s2 is not None and s2["kind"] == "active", g["states"]
    assert s2["nat"].startswith(T.NAT2_OUT + ":"), s2
    tunnelled_both_ways(topo, mn_cap, ha_cap, coa2, 2)

    # 4. Nothing refreshes the old care-of address's state: it expires (section 2.4), the
    #    new one stays.
    topo.wait_until(lambda: topo.gw_state(gw.show_json(), coa1) is None, ACTIVE_S + 10,
                    f"the old state of {coa1} to expire")
    measure("move -> old state expired at the gateway", time.monotonic() - t_move)
    g = gw.show_json()
    assert g["state_stats"]["expired_active"] >= 1, g["state_stats"]
    s2 = topo.gw_state(g, coa2)
    assert s2 is not None and s2["kind"] == "active", g["states"]
    tunnelled_both_ways(topo, mn_cap, ha_cap, coa2, 3)
