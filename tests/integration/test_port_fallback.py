"""Scenario 6: the foreign network filters the gateway's first port; the client falls back to
the next one (draft section 2.1: "The service of the gateway may be available on different
ports")."""

import time

import pytest

import topology as T

pytestmark = pytest.mark.m6t


def test_second_port_when_first_is_filtered(topo):
    topo.block_udp_to_gw(4500)
    gw = topo.start_gateway(listen=[f"{T.GW_OUT}:4500", f"{T.GW_OUT}:5500"])
    assert sorted(gw.show_json()["listen"]) == [f"{T.GW_OUT}:4500", f"{T.GW_OUT}:5500"]
    cl = topo.start_client(gateways=[f"{T.GW_OUT}:4500", f"{T.GW_OUT}:5500"])
    t0 = time.monotonic()
    # An application that keeps trying: a ping a second until one is answered.
    topo.wait_until(lambda: topo.mn.ping6(T.HA_ADDR, 1).ok, 20,
                    "ping6 MN -> HA through the second gateway port", interval=0.2)
    took = time.monotonic() - t0
    print(f"first answer after {took:.1f}s")
    assert topo.blocked_packets() > 0, "the client never tried port 4500"
    c = cl.show_json()
    assert c["gateway"] == f"{T.GW_OUT}:5500", c
    addr = topo.client_address(cl)
    s = topo.gw_state(gw.show_json(), addr)
    assert s is not None and s["local"] == f"{T.GW_OUT}:5500" and s["kind"] == "active", s
    r = topo.ha.ping6(addr, 3)
    assert r.all_ok, f"HA -> MN:\n{r.output}"
