"""Scenario 5: the MN's IPv4 address changes (a new point of attachment, draft section 3):
a new tunnel address, a new NAT mapping, traffic both ways, and the old gateway state
expires."""

import ipaddress

import pytest

import topology as T

pytestmark = pytest.mark.m6t

ACTIVE_S = 8


def test_ipv4_address_change(topo):
    gw = topo.start_gateway(extra=["--active-lifetime-s", str(ACTIVE_S)])
    cl = topo.start_client(extra=["--keepalive-s", "2"])
    a1 = topo.establish(cl)
    assert topo.ha.ping6(a1, 2).all_ok
    s1 = topo.gw_state(gw.show_json(), a1)
    assert s1 is not None and s1["kind"] == "active"

    new_v4 = topo.change_mn_ipv4()  # 192.0.2.2 -> 192.0.2.3
    a2 = topo.wait_client_address(cl, timeout=15, different_from=a1)
    assert a2 != a1
    assert ipaddress.IPv6Address(a2) in ipaddress.IPv6Network(cl.prefix80)
    assert a1 not in topo.mn.addrs6(), "old tunnel address still on the TUN device"

    topo.mn.wait_ping6(T.HA_ADDR, timeout=10)
    r = topo.mn.ping6(T.HA_ADDR, 3)
    assert r.all_ok, f"MN -> HA after the change:\n{r.output}"
    r = topo.ha.ping6(a2, 3)
    assert r.all_ok, f"HA -> MN {a2} after the change:\n{r.output}"

    g = gw.show_json()
    s2 = topo.gw_state(g, a2)
    assert s2 is not None and s2["kind"] == "active", g["states"]
    assert s2["nat"] != s1["nat"], f"same NAT mapping {s1['nat']} after the address change"
    assert f"src={new_v4}" in topo.conntrack_udp()
    hist = cl.show_json()["history"]
    assert any(h.get("address") and ipaddress.IPv6Address(h["address"]) ==
               ipaddress.IPv6Address(a2) for h in hist), hist

    # The old state gets no traffic any more: it expires after the active lifetime.
    topo.wait_until(lambda: topo.gw_state(gw.show_json(), a1) is None, ACTIVE_S + 10,
                    f"the old state of {a1} to expire")
    g = gw.show_json()
    assert g["state_stats"]["expired_active"] >= 1, g["state_stats"]
    s2 = topo.gw_state(g, a2)
    assert s2 is not None and s2["kind"] == "active", "keepalives should hold the new state"
    r = topo.ha.ping6(a2, 3)
    assert r.all_ok, f"HA -> MN {a2} at the end:\n{r.output}"
