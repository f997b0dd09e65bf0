"""Self-tests of the harness: the topologies work without m6t."""

import json
import re

import pytest

import topology as T


def test_standard_topology(make_topology):
    t = make_topology()
    # MN -> GW's outside address through the NAT (masquerade).
    assert t.mn.ping4(T.GW_OUT, 2).all_ok
    # A UDP datagram leaves a conntrack mapping 192.0.2.2:P -> 203.0.113.1:P' on the NAT.
    t.mn.udp_send(T.GW_OUT, T.GW_PORT, src_port=40123)
    ct = t.conntrack_udp()
    assert re.search(rf"src={T.MN_ADDRS[0]} dst={T.GW_OUT} sport=40123 dport={T.GW_PORT} .*"
                     rf"src={T.GW_OUT} dst={T.NAT_OUT} sport={T.GW_PORT}", ct), ct
    # HA <-> GW over IPv6.
    assert t.ha.ping6(T.GW_HOME, 2).all_ok
    assert t.gw.ping6(T.HA_ADDR, 2).all_ok
    # The MN is IPv4-only: no IPv6 route (main table), no IPv6 address but ::1.
    assert t.mn.routes6().strip() == ""
    assert [a for a in t.mn.snapshot()["addrs"] if ":" in a] == ["lo ::1/128"]
    assert t.mn.ping6(T.HA_ADDR, 1).received == 0
    # The GW forwards IPv6; the HA routes the MN prefix to the GW.
    assert t.gw.out(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).strip() == "1"
    assert f"{T.ULA_PREFIX} via {T.GW_HOME}" in t.ha.routes6()
    # The GW does not reach the MN's private address (it is behind the NAT).
    assert t.gw.ping4(T.MN_ADDRS[0], 1).received == 0


def test_nat_udp_timeout_and_port_block(make_topology):
    t = make_topology()
    t.set_nat_udp_timeouts(7, 9)
    assert t.nat.out(["sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout"]).strip() == "7"
    assert t.nat.out(["sysctl", "-n",
                      "net.netfilter.nf_conntrack_udp_timeout_stream"]).strip() == "9"
    # UDP to GW:4500 is dropped by the NAT, UDP to GW:5500 passes: a receiver on the GW sees
    # only the datagram for 5500.
    t.block_udp_to_gw(4500)
    rx = t.gw.spawn("udp-recv", [T.PYTHON, "-c", """
import socket, sys
socks = []
for port in (4500, 5500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('203.0.113.2', port)); s.settimeout(0.2); socks.append((port, s))
print('ready', flush=True)
import time
end = time.time() + 5
while time.time() < end:
    for port, s in socks:
        try:
            data, peer = s.recvfrom(100)
            print('got', port, peer[0], flush=True)
        except socket.timeout:
            pass
"""])
    t.wait_until(lambda: "ready" in rx.read_log(), 5, "UDP receiver ready")
    t.mn.udp_send(T.GW_OUT, 4500)
    t.mn.udp_send(T.GW_OUT, 5500)
    t.wait_until(lambda: "got 5500 203.0.113.1" in rx.read_log(), 5, "datagram to port 5500")
    assert "got 4500" not in rx.read_log()
    assert t.blocked_packets() == 1
    t.unblock_all()
    t.mn.udp_send(T.GW_OUT, 4500)
    t.wait_until(lambda: "got 4500 203.0.113.1" in rx.read_log(), 5, "datagram to port 4500")
    rx.stop()


def test_two_mns_and_address_change(make_topology):
    t = make_topology(n_mns=2)
    mn1, mn2 = t.mns
    assert mn1.ping4(T.GW_OUT, 1).ok and mn2.ping4(T.GW_OUT, 1).ok
    mn2.udp_send(T.GW_OUT, T.GW_PORT)
    assert f"src={T.MN_ADDRS[1]}" in t.conntrack_udp()
    # Address change on MN1 (192.0.2.4: .3 is taken by MN2).
    new = t.change_mn_ipv4(mn=mn1)
    assert new == "192.0.2.4"
    assert mn1.ping4(T.GW_OUT, 1).ok
    mn1.udp_send(T.GW_OUT, T.GW_PORT)
    assert "src=192.0.2.4" in t.conntrack_udp()


def test_address_change_standard(make_topology):
    t = make_topology()
    assert t.change_mn_ipv4() == "192.0.2.3"
    addrs = t.mn.snapshot()["addrs"]
    assert "eth0 192.0.2.3/24" in addrs and "eth0 192.0.2.2/24" not in addrs
    assert "default via 192.0.2.1" in t.mn.out(["ip", "route"])
    assert t.mn.ping4(T.GW_OUT, 1).ok


def test_second_uplink(make_topology):
    t = make_topology(second_uplink=True)
    assert t.mn.ping4(T.GW_OUT, 1).ok
    assert t.mn.ping4(T.GW_OUT, 1, source="eth1").ok
    t.mn.run(["ip", "route", "del", "default", "via", T.NAT_IN])
    t.mn.udp_send(T.GW_OUT, T.GW_PORT)
    ct = t.conntrack_udp(t.nat2)
    assert f"src={T.MN_UPLINK2}" in ct and f"dst={T.NAT2_OUT}" in ct, ct


def test_colocated(make_topology):
    t = make_topology(colocated=True)
    assert t.gw is t.ha
    assert len(t.namespaces) == 3
    assert t.ha.ping6(T.HA_ADDR, 1).ok
    assert t.mn.ping4(T.GW_OUT, 1).ok


def test_ha_silence(make_topology):
    t = make_topology()
    # Stand-in for an MN: an address of the tunnel prefix on the GW (routed there by the HA).
    t.gw.run(["ip", "-6", "addr", "add", "fd00:db8:1::5/128", "dev", "lo"])
    assert t.ha.ping6("fd00:db8:1::5", 1).ok
    t.ha_silence(True)  # the HA sends nothing towards the tunnel prefix
    assert not t.ha.ping6("fd00:db8:1::5", 1).ok
    assert t.ha.ping6(T.GW_HOME, 1).ok  # everything else still flows
    t.ha_silence(False)
    assert t.ha.ping6("fd00:db8:1::5", 1).ok


def test_tcp_transfer_helper(make_topology):
    t = make_topology()
    r = t.tcp_transfer(t.mn, t.gw, T.GW_OUT, 2 << 20)
    assert r["ok"], r
    assert r["received"]["peer"] == T.NAT_OUT  # masqueraded
    r = t.tcp_transfer(t.ha, t.gw, T.GW_HOME, 1 << 20)
    assert r["ok"], r


def test_teardown_removes_everything(root):
    t = T.Topology()
    t.build()
    names = [ns.name for ns in t.namespaces]
    p = t.mn.spawn("sleeper", ["sleep", "60"])
    listed = T.sh(["ip", "netns", "list"]).stdout
    assert all(n in listed for n in names)
    t.teardown()
    assert p.poll() is not None
    listed = T.sh(["ip", "netns", "list"]).stdout
    assert not any(n in listed for n in names)
    assert not t.rundir.exists()
    t.teardown()  # idempotent


def test_prefix80():
    assert T.mn_prefix80("fd00:db8:1::/48", 0, 1) == "fd00:db8:1:0:1::/80"
    assert T.mn_prefix80("fd00:db8:1::/48", 3, 2) == "fd00:db8:1:3:2::/80"
    with pytest.raises(ValueError):
        T.mn_prefix80("fd00:db8::/32", 0, 1)
