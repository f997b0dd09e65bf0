"""Scenario 1 (MN <-> HA through the tunnel) and scenario 7 (gateway on the HA host)."""

import ipaddress

import pytest

import topology as T

pytestmark = pytest.mark.m6t

MB = 1 << 20


def test_mn_and_ha_reach_each_other(topo):
    gw = topo.start_gateway()
    cl = topo.start_client()
    addr = topo.establish(cl)
    assert ipaddress.IPv6Address(addr) in ipaddress.IPv6Network(cl.prefix80)
    # The client's IPv6 default route goes through its TUN device.
    assert "default dev m6t0" in topo.mn.routes6()

    r = topo.mn.ping6(T.HA_ADDR, 5)
    assert r.all_ok, f"MN -> HA:\n{r.output}"
    r = topo.ha.ping6(addr, 5)
    assert r.all_ok, f"HA -> MN {addr}:\n{r.output}"

    up = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, 4 * MB)
    assert up["ok"], f"MN -> HA transfer corrupted or short: {up}"
    assert up["received"]["peer"] == addr  # the HA saw the MN's tunnel address
    down = topo.tcp_transfer(topo.ha, topo.mn, addr, 4 * MB)
    assert down["ok"], f"HA -> MN transfer corrupted or short: {down}"
    print(f"MN->HA 4 MB in {up['seconds']:.2f}s ({up['mbit_s']:.0f} Mbit/s), "
          f"HA->MN 4 MB in {down['seconds']:.2f}s ({down['mbit_s']:.0f} Mbit/s)")

    g = gw.show_json()
    s = topo.gw_state(g, addr)
    assert s is not None, g
    assert s["kind"] == "active"
    assert s["nat"].startswith(f"{T.NAT_OUT}:")
    assert s["local"] == f"{T.GW_OUT}:{T.GW_PORT}"
    assert s["from_mn"]["bytes"] >= 4 * MB and s["to_mn"]["bytes"] >= 4 * MB
    assert g["counters"]["to_home"]["bytes"] >= 4 * MB
    assert g["counters"]["to_mn"]["bytes"] >= 4 * MB
    c = cl.show_json()
    assert c["state"] == "up" and c["gateway"] == f"{T.GW_OUT}:{T.GW_PORT}"
    assert c["counters"]["to_gateway"]["bytes"] >= 4 * MB
    assert c["counters"]["to_host"]["bytes"] >= 4 * MB


def test_gateway_on_the_ha_host(make_topology, m6t_bin):
    topo = make_topology(colocated=True)
    assert topo.gw is topo.ha
    gw = topo.start_gateway()
    cl = topo.start_client()
    addr = topo.establish(cl)
    r = topo.mn.ping6(T.HA_ADDR, 5)
    assert r.all_ok, f"MN -> HA:\n{r.output}"
    r = topo.ha.ping6(addr, 5, source=T.HA_ADDR)
    assert r.all_ok, f"HA -> MN {addr}:\n{r.output}"
    x = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, 1 * MB)
    assert x["ok"], x
    s = topo.gw_state(gw.show_json(), addr)
    assert s is not None and s["kind"] == "active"
