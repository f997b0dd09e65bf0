"""Scenario 3: the client's keepalives keep the NAT mapping, and with them the MN's
reachability from the HA, through 30 s of silence (draft section 2.3).

Two topologies run side by side (one 30 s wait for both): NAT UDP timeout 10 s everywhere,
gateway active lifetime 300 s (only the NAT decides); keepalive every 4 s in one, every 3600 s
(effectively off) in the other."""

import re
import time

import pytest

import topology as T

pytestmark = [pytest.mark.m6t, pytest.mark.slow]

SILENCE_S = 30
NAT_TIMEOUT_S = 10


def mapping_alive(topo):
    return re.search(rf"src={T.MN_ADDRS[0]} dst={T.GW_OUT} sport=\d+ dport={T.GW_PORT}",
                     topo.conntrack_udp()) is not None


def test_keepalive_keeps_nat_mapping(make_topology, m6t_bin):
    runs = {}
    for label, keepalive in (("on", 4), ("off", 3600)):
        topo = make_topology(label=f"keepalive-{label}")
        topo.set_nat_udp_timeouts(NAT_TIMEOUT_S, NAT_TIMEOUT_S)
        gw = topo.start_gateway(extra=["--active-lifetime-s", "300"])
        cl = topo.start_client(extra=["--keepalive-s", str(keepalive)])
        addr = topo.establish(cl)
        r = topo.ha.ping6(addr, 2)
        assert r.all_ok, f"[{label}] HA -> MN before the silence:\n{r.output}"
        runs[label] = (topo, gw, cl, addr)
    start = {k: v[2].show_json()["counters"]["keepalives_sent"]["packets"]
             for k, v in runs.items()}

    time.sleep(SILENCE_S)

    topo, gw, cl, addr = runs["on"]
    sent = cl.show_json()["counters"]["keepalives_sent"]["packets"] - start["on"]
    answered = cl.show_json()["counters"]["keepalives_answered"]["packets"]
    assert sent >= SILENCE_S // 4 - 2, f"only {sent} keepalives in {SILENCE_S}s at 4s interval"
    assert answered >= 1
    assert mapping_alive(topo), f"NAT mapping gone despite keepalives:\n{topo.conntrack_udp()}"
    r = topo.ha.ping6(addr, 3)
    assert r.ok, f"keepalive 4s: HA -> MN after {SILENCE_S}s of silence failed:\n{r.output}"

    topo, gw, cl, addr = runs["off"]
    c = cl.show_json()
    sent = c["counters"]["keepalives_sent"]["packets"] - start["off"]
    # The client may check the gateway once right after the last exchange (a probe when its
    # own packet went unanswered), but nothing may refresh the mapping after that.
    assert sent <= 1, f"{sent} keepalives sent with --keepalive-s 3600"
    last = c["last_keepalive_sent_ms_ago"]
    assert last is None or last > (NAT_TIMEOUT_S + 2) * 1000, \
        f"last keepalive {last} ms ago: the NAT mapping may still be fresh"
    assert not mapping_alive(topo), \
        f"NAT mapping still there after {SILENCE_S}s:\n{topo.conntrack_udp()}"
    s = topo.gw_state(gw.show_json(), addr)
    assert s is not None and s["kind"] == "active", f"gateway state should outlive this: {s}"
    r = topo.ha.ping6(addr, 3)
    assert r.received == 0, \
        f"keepalive off: HA -> MN still works after {SILENCE_S}s, the test proves nothing:\n" \
        f"{r.output}"
