"""MTU and path MTU (draft section 2.6, path-MTU mode): full-size packets arrive, never black-holed.

Topology(narrow_mtu=N): MN -- NAT --(IPv4 link of MTU N)-- RTR -- GW -- HA.  A 1472-byte IPv6
packet is a 1500-byte datagram, which does not fit the narrow link: in the default mode (DF
clear) it crosses in IPv4 fragments; in path-MTU mode (DF set) the router in front of the narrow
link answers "fragmentation needed" and the tunnel end lowers that path's MTU.
"""

from __future__ import annotations

import ipaddress
import json

import topology as T

FULL = 1472          # the default tunnel MTU (section 2.6)
ICMP_PAYLOAD = 1424  # ping6 -s: 1424 + 8 (ICMPv6) + 40 (IPv6) = 1472 bytes


def ping6_df(ns: T.Namespace, addr: str, size: int, count: int = 1, wait_s: float = 1
             ) -> T.PingResult:
    """ping6 with a payload of `size` bytes, never fragmented by the sender (-M do)."""
    cp = ns.run([T.PING, "-6", "-n", "-q", "-M", "do", "-c", str(count), "-W", str(wait_s), "-i",
                 "0.2", "-s", str(size), addr], check=False, timeout=count * (wait_s + 1) + 10)
    m = T._PING_RE.search(cp.stdout)
    tx, rx = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return T.PingResult(tx, rx, (cp.stdout + cp.stderr).strip(), cp.returncode)


def same(a: str, b: str) -> bool:
    return ipaddress.IPv6Address(a) == ipaddress.IPv6Address(b)


def scapy_checksum_ok(hexdata: str) -> bool:
    """The Packet Too Big's checksum as an independent packet tool computes it."""
    from scapy.layers.inet6 import IPv6, ICMPv6PacketTooBig
    pkt = IPv6(bytes.fromhex(hexdata))
    got = pkt[ICMPv6PacketTooBig].cksum
    del pkt[ICMPv6PacketTooBig].cksum
    return IPv6(bytes(pkt))[ICMPv6PacketTooBig].cksum == got


def route_mtu(ns: T.Namespace, addr: str, source: str | None = None) -> int | None:
    """The PMTU the kernel of `ns` holds for `addr` (its view of our Packet Too Big).  On the MN
    the tunnel's routes are source-specific: the cached value hangs off the tunnel address's."""
    out = ns.out([T.IP, "-6", "route", "get", addr, *(["from", source] if source else [])])
    parts = out.split()
    return int(parts[parts.index("mtu") + 1]) if "mtu" in parts else None


def gw_state(gw: T.Daemon, mn: str) -> dict:
    s = T.Topology.gw_state(gw.show_json(), mn)
    assert s is not None, f"no gateway state for {mn}"
    return s


def test_default_mode_full_size_packets_cross_fragmented_outside(make_topology, m6t_bin):
    topo = make_topology(narrow_mtu=1400)
    gw = topo.start_gateway()
    client = topo.start_client()
    mn_addr = topo.establish(client)

    before = topo.forwarded_fragments()
    r = ping6_df(topo.mn, T.HA_ADDR, ICMP_PAYLOAD, count=3)
    assert r.all_ok, r.output
    r = ping6_df(topo.ha, mn_addr, ICMP_PAYLOAD, count=3)
    assert r.all_ok, r.output
    after = topo.forwarded_fragments()
    # Each 1500-byte datagram crossed the 1400-byte link as two IPv4 fragments, both ways.
    assert after["to_gw"] - before["to_gw"] >= 6, (before, after)
    assert after["to_mn"] - before["to_mn"] >= 6, (before, after)

    s = gw_state(gw, mn_addr)
    assert (s["mtu"], s["mtu_source"], s["df"], s["mtu_expires_in_ms"]) == \
        (FULL, "configured", False, None), s
    c = client.show_json()
    assert (c["mtu"], c["mtu_source"], c["df"]) == (FULL, "configured", False), c
    assert f"mtu {FULL} (configured, fragmentable)" in gw.show_text()
    # Both TUN devices carry the default MTU (section 2.6).
    for ns, dev in ((topo.gw, "m6tgw0"), (topo.mn, "m6t0")):
        link = json.loads(ns.out([T.IP, "-j", "link", "show", "dev", dev]))[0]
        assert link["mtu"] == FULL, (dev, link["mtu"])


def test_oversized_datagram_from_the_nat_side_is_dropped_with_a_counter(make_topology, m6t_bin):
    topo = make_topology()
    gw = topo.start_gateway()
    client = topo.start_client()
    mn_addr = topo.establish(client)
    # A well-formed IPv6 packet of 1473 bytes from the MN's own address: one byte too many.
    hdr = bytes([0x60, 0, 0, 0]) + (1473 - 40).to_bytes(2, "big") + bytes([59, 64])
    pkt = hdr + ipaddress.IPv6Address(mn_addr).packed + ipaddress.IPv6Address(T.HA_ADDR).packed
    pkt += bytes(1473 - 40)
    before = gw.show_json()
    topo.mn.udp_send(T.GW_OUT, T.GW_PORT, pkt)
    topo.wait_until(lambda: gw.show_json()["drops"]["oversized"] ==
                    before["drops"]["oversized"] + 1, 5, "oversized drop counted")
    after = gw.show_json()
    assert after["counters"]["to_home"]["packets"] == before["counters"]["to_home"]["packets"]


def test_path_mtu_mode_lowers_one_mn_and_full_size_traffic_flows(make_topology, m6t_bin,
                                                                 measure):
    topo = make_topology(narrow_mtu=1400, wide_mn=True)
    gw = topo.start_gateway(extra=["--pmtu-discovery"])
    client = topo.start_client(extra=["--pmtu-discovery"])
    mn_addr = topo.establish(client)
    wide = topo.start_client(mn=topo.wide, mn_id=2, extra=["--pmtu-discovery"])
    wide_addr = topo.establish(wide)
    learned = 1400 - 28

    # --- home side -> MN: the first oversized packet lowers that MN's MTU ---------------------
    ha_cap = T.Sniffer(topo, topo.ha, "home0", "sniff-ha")
    first = ping6_df(topo.ha, mn_addr, ICMP_PAYLOAD, count=1)
    assert first.received == 0, "DF set: the first 1472-byte packet cannot cross 1400"
    topo.wait_until(lambda: ha_cap.ptbs(), 5, "ICMPv6 Packet Too Big at the HA")
    ha_cap.stop()
    big = [r for r in ha_cap.records() if r["dir"] == "out" and r["len"] == FULL
           and same(r["dst"], mn_addr)]
    ptb = ha_cap.ptbs()[0]
    assert big, ha_cap.records()
    assert ptb["dir"] == "in" and ptb["ptb_mtu"] == learned, ptb
    assert same(ptb["dst"], T.HA_ADDR) and same(ptb["inner_dst"], mn_addr), ptb
    assert scapy_checksum_ok(ptb["hex"]), "checksum as scapy computes it"
    assert route_mtu(topo.ha, mn_addr) == learned, "the HA's kernel accepted the Packet Too Big"
    delay = ptb["t"] - big[0]["t"]
    print(f"gateway: first oversized packet -> Packet Too Big at the HA: {delay * 1e6:.0f} us")
    measure("gateway: first oversized packet at the HA -> Packet Too Big back at the HA",
            delay * 1e3, "ms")

    s = gw_state(gw, mn_addr)
    assert (s["mtu"], s["mtu_source"], s["df"]) == (learned, "icmp", True), s
    assert 0 < s["mtu_expires_in_ms"] <= 600_000, s
    g = gw.show_json()
    assert g["pmtu"]["lowered"] == 1 and g["pmtu_discovery"] is True, g["pmtu"]
    assert f"mtu {learned} (icmp, DF, ages out in" in gw.show_text()
    # The HA now sends what fits, and it arrives.
    r = ping6_df(topo.ha, mn_addr, learned - 48, count=3)
    assert r.all_ok, r.output

    # --- MN -> home side: the client lowers its tunnel and tells its own host --------------
    # The oversized packet is seen leaving the MN encapsulated (with the fast path it never
    # crosses the TUN device's transmit side), the Packet Too Big arriving on the TUN device.
    mn_cap = T.Sniffer(topo, topo.mn, "m6t0", "sniff-mn")
    mn_out = T.Sniffer(topo, topo.mn, "eth0", "sniff-mn-out", udp=True)
    first = ping6_df(topo.mn, T.HA_ADDR, ICMP_PAYLOAD, count=1)
    assert first.received == 0, first.output
    topo.wait_until(lambda: mn_cap.ptbs(), 5, "ICMPv6 Packet Too Big on the MN's TUN")
    mn_cap.stop()
    mn_out.stop()
    big = [r for r in mn_out.records() if r["dir"] == "out" and r["len"] == FULL]
    ptb = mn_cap.ptbs()[0]
    assert big, mn_out.records()
    assert ptb["ptb_mtu"] == learned and same(ptb["dst"], mn_addr), ptb
    assert scapy_checksum_ok(ptb["hex"])
    assert route_mtu(topo.mn, T.HA_ADDR, mn_addr) == learned, "the MN's kernel accepted it"
    delay = ptb["t"] - big[0]["t"]
    print(f"client: first oversized datagram out -> Packet Too Big on the MN's TUN: "
          f"{delay * 1e6:.0f} us")
    measure("client: first oversized datagram leaving the MN -> Packet Too Big to the host",
            delay * 1e3, "ms")
    c = client.show_json()
    assert (c["mtu"], c["mtu_source"], c["df"]) == (learned, "icmp", True), c
    assert c["pmtu"]["lowered"] == 1, c["pmtu"]

    # --- a second MN on a full-size path keeps 1472 at the same time -----------------------
    r = ping6_df(topo.wide, T.HA_ADDR, ICMP_PAYLOAD, count=3)
    assert r.all_ok, r.output
    r = ping6_df(topo.ha, wide_addr, ICMP_PAYLOAD, count=3)
    assert r.all_ok, r.output
    w = gw_state(gw, wide_addr)
    assert (w["mtu"], w["mtu_source"], w["df"]) == (FULL, "configured", True), w
    assert wide.show_json()["mtu"] == FULL
    assert gw_state(gw, mn_addr)["mtu"] == learned

    # --- TCP both ways, full-size segments offered, checksums match -------------------------
    mb = 4 << 20
    up = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, mb, port=5101)
    assert up["ok"], up
    down = topo.tcp_transfer(topo.ha, topo.mn, mn_addr, mb, port=5102)
    assert down["ok"], down
    measure("TCP MN->HA through the 1400-byte link, path-MTU mode", up["mbit_s"], "Mbit/s")
    measure("TCP HA->MN through the 1400-byte link, path-MTU mode", down["mbit_s"], "Mbit/s")
    # Nothing larger than the learned MTU left either tunnel end toward the narrow path.
    assert gw.show_json()["io"]["udp_send_errors"] == 0


def test_tcp_first_segments_lower_the_mtu_both_ways(make_topology, m6t_bin):
    """No ping beforehand: TCP's own full-size segments meet the narrow link first."""
    topo = make_topology(narrow_mtu=1400)
    gw = topo.start_gateway(extra=["--pmtu-discovery"])
    client = topo.start_client(extra=["--pmtu-discovery"])
    mn_addr = topo.establish(client)
    down = topo.tcp_transfer(topo.ha, topo.mn, mn_addr, 2 << 20, port=5103)
    assert down["ok"], down
    assert gw_state(gw, mn_addr)["mtu"] == 1372
    assert client.show_json()["mtu"] == 1472, "only the gateway's direction met the link yet"
    # Each kernel now advertises an MSS that fits its cached PMTU, which would keep the other
    # direction's segments small: forget those, so that the MN's segments are full size again.
    for ns in (topo.ha, topo.mn):
        ns.run([T.IP, "-6", "route", "flush", "cache"])
    up = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, 2 << 20, port=5104)
    assert up["ok"], up
    assert client.show_json()["mtu"] == 1372


def test_path_below_1280_still_carries_1280_byte_packets(make_topology, m6t_bin):
    topo = make_topology(narrow_mtu=1200)
    gw = topo.start_gateway(extra=["--pmtu-discovery"])
    client = topo.start_client(extra=["--pmtu-discovery"])
    mn_addr = topo.establish(client)

    # The first full-size packets teach both ends that the path cannot carry 1280 + 28.
    ping6_df(topo.ha, mn_addr, ICMP_PAYLOAD, count=1)
    ping6_df(topo.mn, T.HA_ADDR, ICMP_PAYLOAD, count=1)
    topo.wait_until(lambda: gw_state(gw, mn_addr)["mtu"] == 1280 and
                    client.show_json()["mtu"] == 1280, 5, "both ends at 1280")
    s = gw_state(gw, mn_addr)
    assert (s["mtu_source"], s["df"]) == ("icmp", False), s
    c = client.show_json()
    assert (c["mtu_source"], c["df"]) == ("icmp", False), c
    assert gw.show_json()["pmtu"]["fragmenting"] == 1

    before = topo.forwarded_fragments()
    r = ping6_df(topo.mn, T.HA_ADDR, 1280 - 48, count=3)
    assert r.all_ok, r.output
    r = ping6_df(topo.ha, mn_addr, 1280 - 48, count=3)
    assert r.all_ok, r.output
    after = topo.forwarded_fragments()
    assert after["to_gw"] - before["to_gw"] >= 6 and after["to_mn"] - before["to_mn"] >= 6, \
        (before, after)
    assert route_mtu(topo.ha, mn_addr) == 1280
    up = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, 1 << 20, port=5105)
    assert up["ok"], up
