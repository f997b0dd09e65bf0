"""Scenario 4: two MNs behind the same NAT at once, each reachable from the HA."""

import pytest

import topology as T

pytestmark = pytest.mark.m6t


def test_two_mns_behind_one_nat(make_topology, m6t_bin):
    topo = make_topology(n_mns=2)
    gw = topo.start_gateway()
    clients = [topo.start_client(mn=mn, mn_id=i + 1) for i, mn in enumerate(topo.mns)]
    addrs = [topo.establish(c) for c in clients]
    assert addrs[0] != addrs[1]
    for mn, c, addr in zip(topo.mns, clients, addrs):
        r = mn.ping6(T.HA_ADDR, 3)
        assert r.all_ok, f"{mn.role} -> HA:\n{r.output}"
        r = topo.ha.ping6(addr, 3)
        assert r.all_ok, f"HA -> {mn.role} {addr}:\n{r.output}"
        x = topo.tcp_transfer(topo.ha, mn, addr, 1 << 20)
        assert x["ok"], x
    g = gw.show_json()
    states = [topo.gw_state(g, a) for a in addrs]
    assert all(s is not None and s["kind"] == "active" for s in states), g["states"]
    nats = [s["nat"] for s in states]
    assert all(n.startswith(f"{T.NAT_OUT}:") for n in nats), nats
    assert nats[0] != nats[1], f"both MNs behind one NAT mapping: {nats}"
