"""IKEv2 and ESP run unmodified over m6t, through the real NAT, across a move (draft sections 1.2,
4, 5): Debian's strongSwan on the MN and on the HA, with the configuration of examples/strongswan.

The MN's IKE endpoint is its tunnel address (its care-of address); the CHILD SA carries the home
address 2001:db8:2::100 to the home network 2001:db8:2::/64 behind the HA.  This kernel has no
ESP, so both ends run strongSwan's user-space IPsec (kernel-libipsec).

What the gateway forwards is recorded on its home-side interface (home0: everything between the
tunnel and the HA, whichever of its paths, user space or fast path, carried it).

About UDP 4500: strongSwan 5.9.8's kernel-libipsec (Debian 12's; raw ESP needs 5.9.11) sends ESP
only over the IKE socket, so it fakes a NAT in IKE_SA_INIT and both ends float to 4500.  The test
checks that this is the only reason: UDP 500 carries IKE_SA_INIT and nothing else, and neither
end's NAT detection finds a NAT on its own side although the MN sits behind a real one.  With
kernel ESP (any real HA) the same IKE SA stays on UDP 500 and ESP is next header 50.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

import strongswan as S
import topology as T

pytestmark = pytest.mark.m6t

HOA = "2001:db8:2::100"       # the MN's home address (examples/strongswan/mn/swanctl.conf)
HOME = "2001:db8:2::1"        # the HA's address on the home network behind it
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL = 34, 35, 36, 37
XFER_BYTES = 4_000_000
PROBE_WAIT_S = 0.2


@pytest.fixture
def swan(root):
    msg = S.missing()
    if msg:
        pytest.fail(msg, pytrace=False)


def same(a: str, b: str) -> bool:
    return ipaddress.IPv6Address(a) == ipaddress.IPv6Address(b)


def classify(rec: dict) -> tuple[str, str | None]:
    """("ike500"|"ike4500"|"esp"|"other", exchange type or SPI) of one captured packet."""
    if rec["nh"] == 50:
        return "esp", rec["spi"]
    if rec["nh"] == 44:  # an IPv6 fragment: the MN or HA fragments ESP in UDP bigger than m6t0
        if rec["frag_nh"] != 17 or (rec["frag_offset"] == 0 and rec.get("dport") != 4500):
            return "other", None
        return "frag", None
    if rec["nh"] != 17:
        return "other", None
    head = bytes.fromhex(rec["head"])
    ports = {rec["sport"], rec["dport"]}
    if ports == {500} and len(head) >= 19:
        return "ike500", str(head[18])
    if ports == {4500} and len(head) >= 24:
        if head[:4] == b"\0\0\0\0":  # RFC 3948's non-ESP marker: IKE
            return "ike4500", str(head[4 + 18])
        return "esp", head[:4].hex()
    return "other", None


def until_esp_ping(ns, src, dst, timeout):
    """Seconds until one ping from `src` to `dst` (inside ESP) is answered; fails after timeout."""
    t0 = time.monotonic()
    while True:
        if ns.ping6(dst, 1, wait_s=PROBE_WAIT_S, source=src).ok:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{src} -> {dst} not answered within {timeout} s\n"
                                 f"{ns.topo.logs()}")


def check_traffic(topo, tag, measure):
    r = topo.mn.ping6(HOME, 5, source=HOA)
    assert r.all_ok, f"MN {HOA} -> {HOME} in ESP ({tag}):\n{r.output}"
    r = topo.ha.ping6(HOA, 5, source=HOME)
    assert r.all_ok, f"HA {HOME} -> {HOA} in ESP ({tag}):\n{r.output}"
    up = topo.tcp_transfer(topo.mn, topo.ha, HOME, XFER_BYTES, name=f"esp-up-{tag}")
    assert up["ok"], f"MN -> HA TCP in ESP ({tag}): {up}"
    down = topo.tcp_transfer(topo.ha, topo.mn, HOA, XFER_BYTES, name=f"esp-down-{tag}")
    assert down["ok"], f"HA -> MN TCP in ESP ({tag}): {down}"
    measure(f"TCP in ESP MN->HA ({tag})", up["mbit_s"], "Mbit/s")
    measure(f"TCP in ESP HA->MN ({tag})", down["mbit_s"], "Mbit/s")


def test_ikev2_and_esp_cross_m6t_and_follow_the_mn_to_another_network(make_topology, m6t_bin,
                                                                        swan, measure):
    topo = make_topology(second_uplink=True)
    gw = topo.start_gateway()
    cl = topo.start_client()
    coa1 = topo.wait_client_address(cl)
    cap = T.Sniffer(topo, topo.gw, "home0", "gw-home0", min_len=0)
    topo.mn.ip("-6", "addr", "add", f"{HOA}/128", "dev", "lo")
    topo.ha.ip("-6", "addr", "add", f"{HOME}/128", "dev", "lo")

    ha = S.Charon(topo, topo.ha, "ha")
    ha.load()
    mn = S.Charon(topo, topo.mn, "mn")
    t0 = time.monotonic()
    mn.load()  # start_action = start: the MN initiates at once
    c = topo.wait_until(lambda: mn.child("home", "home"), 20, "the MN's CHILD_SA installed")
    measure("IKE_SA + CHILD_SA established through m6t and the NAT", time.monotonic() - t0)
    h = topo.wait_until(lambda: ha.child("mn", "mn"), 5, "the HA's CHILD_SA installed")

    # The MN's IKE endpoint is its tunnel address, and the HA sees exactly that address: nothing
    # between them translated it.
    ike_mn, ike_ha = c["ike"], h["ike"]
    assert same(ike_mn["local-host"], coa1) and same(ike_mn["remote-host"], T.HA_ADDR), ike_mn
    assert same(ike_ha["remote-host"], coa1) and same(ike_ha["local-host"], T.HA_ADDR), ike_ha
    # No NAT is visible to IKE: neither end finds one on its own side (the only "NAT" either
    # sees is the peer's faked one, kernel-libipsec's way of forcing UDP encapsulation).
    assert "nat-local" not in ike_mn and "nat-local" not in ike_ha, (ike_mn, ike_ha)
    assert "local host is behind NAT" not in mn.log_text() + ha.log_text()
    assert c["spi-in"] == h["spi-out"] and c["spi-out"] == h["spi-in"], (c, h)
    spis = {c["spi-in"], c["spi-out"]}

    check_traffic(topo, "before the move", measure)
    g = gw.show_json()
    s1 = topo.gw_state(g, coa1)
    assert s1 is not None and s1["kind"] == "active" and s1["nat"].startswith(T.NAT_OUT + ":"), \
        g["states"]

    # The MN moves to another IPv4 network (behind another NAT): m6t draws a new address.
    before_move = len(cap.records())
    topo.mn.ip("link", "set", "eth0", "down")
    t_move = time.monotonic()
    coa2 = topo.wait_client_address(cl, timeout=15, different_from=coa1)
    measure("move -> new tunnel address", time.monotonic() - t_move)
    until_esp_ping(topo.mn, HOA, HOME, timeout=30)
    measure("move -> ESP traffic again (MN home address -> home network)",
            time.monotonic() - t_move)
    c2 = topo.wait_until(lambda: (x := mn.child("home", "home")) and
                         same(x["ike"]["local-host"], coa2) and x, 10,
                         "the MN's IKE SA on the new tunnel address")
    h2 = topo.wait_until(lambda: (x := ha.child("mn", "mn")) and
                         same(x["ike"]["remote-host"], coa2) and x, 10,
                         "the HA's IKE SA towards the new tunnel address")
    measure("move -> the HA's SA follows to the new address", time.monotonic() - t_move)
    # MOBIKE moves the IKE SA (the same SPIs); charon then rekeys the CHILD SA (kernel-libipsec
    # cannot move an installed one). The issue would allow a new IKE SA as well; with MOBIKE
    # on both ends (the examples) the same one must go on.
    mobike = c2["ike"]["initiator-spi"] == ike_mn["initiator-spi"]
    assert mobike, "MOBIKE (mobike = yes at both ends) should have kept the IKE SA"
    assert c2["spi-in"] == h2["spi-out"] and c2["spi-out"] == h2["spi-in"], (c2, h2)
    spis |= {c2["spi-in"], c2["spi-out"]}
    assert "nat-local" not in c2["ike"] and "nat-local" not in h2["ike"], (c2, h2)
    print("after the move: MOBIKE (the same IKE SA), CHILD SA "
          f"{'kept' if {c2['spi-in'], c2['spi-out']} == {c['spi-in'], c['spi-out']} else 'rekeyed'}")

    check_traffic(topo, "after the move", measure)
    g = gw.show_json()
    s2 = topo.gw_state(g, coa2)
    assert s2 is not None and s2["kind"] == "active" and s2["nat"].startswith(T.NAT2_OUT + ":"), \
        g["states"]
    cap.stop()

    # What the gateway forwarded between the tunnel and the HA: IKE and ESP only, ESP with the
    # negotiated SPIs both ways; the inner addresses never on the outside.
    recs = cap.records()
    mine = [r for r in recs if {r["src"], r["dst"]} & {coa1, coa2}]
    assert all(same(r["src"], T.HA_ADDR) or same(r["dst"], T.HA_ADDR) for r in mine), mine
    assert not [r for r in recs if {r["src"], r["dst"]} & {HOA, HOME}], "inner address outside"
    kinds: dict[str, int] = {}
    for r in mine:
        kind, detail = classify(r)
        key = f"{kind}/{r['dir']}"
        kinds[key] = kinds.get(key, 0) + 1
        assert kind != "other", f"neither IKE nor ESP: {r}"
        if kind == "ike500":
            assert detail == str(IKE_SA_INIT), f"UDP 500 carried more than IKE_SA_INIT: {r}"
        if kind == "ike4500" and detail is not None:
            assert int(detail) in (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL), r
        if kind == "esp":
            assert detail in spis, f"ESP with SPI {detail}, negotiated {spis}"
    # "out" on home0 is towards the HA, "in" from it.
    for key in ("ike500/out", "ike500/in", "ike4500/out", "ike4500/in", "esp/out", "esp/in"):
        assert kinds.get(key, 0) >= 1, kinds
    after = [classify(r)[0] for r in recs[before_move:]
             if {r["src"], r["dst"]} & {coa2}]
    assert "esp" in after and "ike4500" in after, after  # the move's update, then ESP from coa2
    for key, n in sorted(kinds.items()):
        measure(f"packets at the gateway: {key}", n, "pkts")
