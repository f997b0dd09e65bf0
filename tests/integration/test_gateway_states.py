"""Scenario 2: a gateway state is temporary until the HA answers, then active; with the HA
silent it disappears after the temporary lifetime (draft sections 2.4, 3, 6.1.3)."""

import time

import pytest

import topology as T

pytestmark = pytest.mark.m6t

TEMP_MS = 2000


def test_temporary_then_active(topo):
    gw = topo.start_gateway(extra=["--temp-lifetime-ms", str(TEMP_MS)])
    cl = topo.start_client()
    addr = topo.wait_client_address(cl)
    assert topo.gw_state(gw.show_json(), addr) is None  # nothing sent yet: no state

    def state():
        return topo.gw_state(gw.show_json(), addr)

    # 1. The HA stays silent: the first packet creates a temporary state that then expires.
    topo.ha_silence(True)
    topo.mn.udp_send(T.HA_ADDR, 9)  # the HA would answer "port unreachable"; it is silenced
    sent = time.monotonic()
    s = topo.wait_until(state, 2, f"a gateway state for {addr}", interval=0.05)
    assert s["kind"] == "temporary", s
    assert 0 < s["expires_in_ms"] <= TEMP_MS, s
    kinds = set()

    def gone():
        cur = state()
        if cur is not None:
            kinds.add(cur["kind"])
        return cur is None
    topo.wait_until(gone, TEMP_MS / 1000 + 3, "the temporary state to expire", interval=0.05)
    lived = time.monotonic() - sent
    assert kinds <= {"temporary"}, f"state became {kinds} although the HA never answered"
    assert lived >= TEMP_MS / 1000 * 0.75, f"temporary state gone after {lived:.2f}s only"
    stats = gw.show_json()["state_stats"]
    assert stats["expired_temporary"] >= 1 and stats["activated"] == 0, stats

    # 2. Again a temporary state, then the HA answers: it becomes active.
    topo.mn.udp_send(T.HA_ADDR, 9)
    s = topo.wait_until(state, 2, f"a new gateway state for {addr}", interval=0.05)
    assert s["kind"] == "temporary", s
    topo.ha_silence(False)
    r = topo.mn.ping6(T.HA_ADDR, 1, wait_s=2)
    assert r.ok, f"MN -> HA once the HA answers:\n{r.output}"
    s = state()
    assert s is not None and s["kind"] == "active", s
    assert gw.show_json()["state_stats"]["activated"] >= 1
    r = topo.ha.ping6(addr, 3)
    assert r.all_ok, f"HA -> MN:\n{r.output}"
