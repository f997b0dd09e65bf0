"""Client mobility: the client follows the MN across networks, uplinks, gateway losses and restarts
without being restarted itself (draft sections 2.1, 2.3, 2.5, 2.7, 3).

Each test records, through the ``measure`` fixture, the time from the change to traffic
flowing again (printed, and collected by scripts/test.sh)."""

import ipaddress
import json
import os
import time

import pytest

import topology as T

pytestmark = pytest.mark.m6t

# Each probe waits at most this long for its answer: the measured times are this precise.
PROBE_WAIT_S = 0.2


def until_ping(ns, addr, timeout, **kw):
    """Pings (one packet, short wait) until one is answered; seconds it took, or fails."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        if ns.ping6(addr, 1, wait_s=PROBE_WAIT_S, **kw).ok:
            return time.monotonic() - t0
        if time.monotonic() >= deadline:
            raise AssertionError(f"no answer from {addr} (from {ns.role}) within {timeout} s\n"
                                 f"{ns.topo.logs()}")


def tun_addresses(ns, dev):
    data = json.loads(ns.out([T.IP, "-j", "-6", "addr", "show", "dev", dev, "scope", "global"]))
    return {str(ipaddress.IPv6Address(a["local"])) for i in data for a in i.get("addr_info", [])}


def tun_routes(ns, dev):
    return ns.out([T.IP, "-6", "route", "show", "dev", dev])


def history(cl):
    return cl.show_json()["history"]


def test_address_move_gives_a_new_address_carrying_traffic_within_2s(topo, measure):
    topo.start_gateway()
    cl = topo.start_client()
    a1 = topo.establish(cl)

    new_v4 = topo.change_mn_ipv4()  # the new default route is in place when this returns
    t_route = time.monotonic()
    # Mobility: the new address carries traffic to and from the HA within 2 s of the new route.
    took = until_ping(topo.mn, T.HA_ADDR, timeout=2.0)
    measure("IPv4 address move -> MN reaches HA", took)
    a2 = topo.client_address(cl)
    assert a2 and a2 != a1
    until_ping(topo.ha, a2, timeout=2.0 - (time.monotonic() - t_route))
    measure("IPv4 address move -> HA reaches MN", time.monotonic() - t_route)

    # Never stacked: the old address and its source route are gone.
    assert tun_addresses(topo.mn, "m6t0") == {a2}
    routes = tun_routes(topo.mn, "m6t0")
    assert a1 not in routes and f"from {a2}" in routes, routes
    h = history(cl)[0]
    assert (h["change"], h["reason"], h["ipv4"]) == ("changed", "uplink_changed", new_v4), h
    assert ipaddress.IPv6Address(h["old_address"]) == ipaddress.IPv6Address(a1)


def test_ipv4_removed_then_restored(topo, measure):
    topo.start_gateway()
    cl = topo.start_client()
    a1 = topo.establish(cl)
    v4 = topo.mn_addr[topo.mn.name]

    topo.mn.ip("addr", "del", f"{v4}/24", "dev", "eth0")  # takes the default route with it
    t0 = time.monotonic()
    topo.wait_until(lambda: not tun_addresses(topo.mn, "m6t0"), 5,
                    "the tunnel address to be withdrawn")
    measure("IPv4 removed -> tunnel address withdrawn", time.monotonic() - t0)
    assert "default" not in tun_routes(topo.mn, "m6t0"), "IPv6 default route left behind"
    s = cl.show_json()
    assert s["state"] == "no_uplink" and s["address"] is None, s
    assert not topo.mn.ping6(T.HA_ADDR, 1, wait_s=0.5).ok

    topo.mn.ip("addr", "add", f"{v4}/24", "dev", "eth0")
    topo.mn.ip("route", "add", "default", "via", T.NAT_IN, "dev", "eth0")
    t0 = time.monotonic()
    took = until_ping(topo.mn, T.HA_ADDR, timeout=10)
    measure("IPv4 restored -> MN reaches HA", took)
    a2 = topo.client_address(cl)
    assert a2 and a2 != a1, "a new attachment draws a new random value (section 3)"
    until_ping(topo.ha, a2, timeout=5)
    measure("IPv4 restored -> HA reaches MN", time.monotonic() - t0)
    reasons = [h["reason"] for h in history(cl)[:2]]
    assert reasons == ["uplink_up", "uplink_lost"], history(cl)


def test_two_uplinks_through_two_nats(make_topology, m6t_bin, measure):
    """Section 2.5: one client per IPv4 uplink, sharing the MN's /80, each with its own TUN
    device, socket bound to its uplink, and its own 48-bit value (lock files)."""
    topo = make_topology(second_uplink=True)
    gw = topo.start_gateway()
    c0 = topo.start_client(name="client-eth0", tun="m6t0", extra=["--uplink", "eth0"])
    # Same metric on purpose: the two plain default routes coexist, and each tunnel address's
    # source route keeps its packets on its own tunnel.
    c1 = topo.start_client(name="client-eth1", tun="m6t1", extra=["--uplink", "eth1"])
    a0 = topo.wait_client_address(c0)
    a1 = topo.wait_client_address(c1)
    assert a0 != a1
    net = ipaddress.IPv6Network(c0.prefix80)
    assert ipaddress.IPv6Address(a0) in net and ipaddress.IPv6Address(a1) in net

    # Traffic from each address leaves through its own tunnel and its own NAT.
    until_ping(topo.mn, T.HA_ADDR, timeout=10, source=a0)
    until_ping(topo.mn, T.HA_ADDR, timeout=10, source=a1)
    g = gw.show_json()
    s0, s1 = topo.gw_state(g, a0), topo.gw_state(g, a1)
    assert s0 and s0["kind"] == "active" and s0["nat"].startswith(T.NAT_OUT + ":"), g["states"]
    assert s1 and s1["kind"] == "active" and s1["nat"].startswith(T.NAT2_OUT + ":"), g["states"]
    # Both reachable from the HA at once.
    assert topo.ha.ping6(a0, 3).all_ok
    assert topo.ha.ping6(a1, 3).all_ok

    # Section 2.5's local synchronisation: each client holds a lock on its own value.
    locks = sorted(os.listdir(topo.claims_dir))
    assert len(locks) == 2, locks
    held = {int(l.rsplit("-", 1)[1].split(".")[0], 16) for l in locks}
    want = {int(ipaddress.IPv6Address(a)) & (2**48 - 1) for a in (a0, a1)}
    assert held == want, (locks, a0, a1)

    # The eth1 uplink goes away: only its tunnel goes down; the other keeps working.
    topo.mn.ip("link", "set", "eth1", "down")
    topo.wait_until(lambda: not tun_addresses(topo.mn, "m6t1"), 5, "m6t1's address withdrawn")
    assert tun_addresses(topo.mn, "m6t0") == {a0}
    assert topo.ha.ping6(a0, 2).all_ok
    assert len(os.listdir(topo.claims_dir)) == 1, "the withdrawn value's lock is released"
    topo.mn.ip("link", "set", "eth1", "up")
    topo.mn.ip("route", "replace", "default", "via", T.NAT2_IN, "dev", "eth1", "metric", "200")
    t0 = time.monotonic()
    topo.wait_until(lambda: tun_addresses(topo.mn, "m6t1"), 10, "m6t1's address back")
    a1b = next(iter(tun_addresses(topo.mn, "m6t1")))
    until_ping(topo.mn, T.HA_ADDR, timeout=10, source=a1b)
    measure("second uplink back -> its tunnel reaches HA", time.monotonic() - t0)


def test_first_port_starts_dropping_mid_session(topo, measure):
    """Sections 2.1 and 2.3: unanswered keepalives move the client to the next gateway port."""
    gw = topo.start_gateway(listen=[f"{T.GW_OUT}:4500", f"{T.GW_OUT}:5500"])
    cl = topo.start_client(gateways=[f"{T.GW_OUT}:4500", f"{T.GW_OUT}:5500"],
                           extra=["--keepalive-s", "2"])
    a1 = topo.establish(cl)
    assert cl.show_json()["gateway"] == f"{T.GW_OUT}:4500"

    topo.block_udp_to_gw(4500)
    t0 = time.monotonic()
    # An application that keeps sending: a ping every 0.2 s until one is answered.
    took = until_ping(topo.mn, T.HA_ADDR, timeout=30)
    measure("first port blocked -> traffic through the second", took)
    c = cl.show_json()
    assert c["gateway"] == f"{T.GW_OUT}:5500", c
    a2 = topo.client_address(cl)
    assert a2 != a1, "a new attachment (new address) for the new port"
    s = topo.gw_state(gw.show_json(), a2)
    assert s and s["local"] == f"{T.GW_OUT}:5500" and s["kind"] == "active", s
    assert topo.ha.ping6(a2, 3).all_ok
    assert topo.blocked_packets() > 0
    assert c["history"][0]["reason"] == "gateway_lost", c["history"]
    del t0


def test_gateway_restart_client_recovers(topo, measure):
    """The gateway lost every state: the idle client's keepalives go unanswered while the path
    is up, and it starts over with a new address (so that MIPv6 re-registers)."""
    gw = topo.start_gateway()
    cl = topo.start_client(extra=["--keepalive-s", "2"])
    a1 = topo.establish(cl)
    gw.stop()
    gw2 = topo.start_gateway(name="gateway2")
    t0 = time.monotonic()
    # The MN stays idle: only the keepalives can tell that the state is gone.
    a2 = topo.wait_until(lambda: (a := topo.client_address(cl)) != a1 and a, 20,
                         "a new tunnel address after the gateway restart")
    measure("gateway restart -> new tunnel address", time.monotonic() - t0)
    # The HA reaches the MN once its new address has spoken (MIPv6's binding update would).
    until_ping(topo.mn, T.HA_ADDR, timeout=10)
    assert topo.ha.ping6(a2, 3).all_ok
    measure("gateway restart -> traffic both ways", time.monotonic() - t0)
    h = history(cl)[0]
    assert h["reason"] == "gateway_lost", history(cl)
    s = topo.gw_state(gw2.show_json(), a2)
    assert s and s["kind"] == "active", s
    assert topo.gw_state(gw2.show_json(), a1) is None


HOOK = """#!/bin/sh
# m6t test hook: one file per run, in order, with the environment and what the TUN holds.
d={out}
n=$(ls "$d" | wc -l)
{{
  echo "ARG=$1"
  env | grep '^M6T_' | sort
  echo "ON_TUN=$(ip -6 -o addr show dev "$M6T_INTERFACE" scope global | awk '{{print $4}}' | tr '\\n' ' ')"
}} > "$d.part"
# Appears whole: the test may stop the client as soon as it sees the file.
mv "$d.part" "$d/$(printf %03d "$n")"
"""


def read_runs(out):
    runs = []
    for name in sorted(os.listdir(out)):
        kv = {}
        for line in (out / name).read_text().splitlines():
            k, _, v = line.partition("=")
            kv[k] = v
        runs.append(kv)
    return runs


def test_hook_gets_the_right_environment(topo, tmp_path):
    out = tmp_path / "hook-runs"
    out.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK.format(out=out))
    hook.chmod(0o755)
    topo.start_gateway()
    cl = topo.start_client(extra=["--hook", str(hook)])
    a1 = topo.establish(cl)
    v4_1 = topo.mn_addr[topo.mn.name]
    v4_2 = topo.change_mn_ipv4()
    a2 = topo.wait_client_address(cl, different_from=a1)
    topo.wait_until(lambda: len(os.listdir(out)) >= 2, 5, "the hook's second run")
    cl.stop()
    runs = read_runs(out)
    assert [r["ARG"] for r in runs] == ["up", "changed", "down"], runs
    up, changed, down = runs
    common = {"M6T_INTERFACE": "m6t0", "M6T_MTU": "1472", "M6T_PREFIX": cl.prefix80,
              "M6T_UPLINK": ""}
    for r in runs:
        for k, v in common.items():
            assert r.get(k) == v, (k, r)
    assert up["M6T_STATE"] == "up" and up["M6T_REASON"] == "uplink_up"
    assert up["M6T_ADDRESS"] == a1 and up["M6T_OLD_ADDRESS"] == ""
    assert up["M6T_IPV4_ADDRESS"] == v4_1 and up["M6T_GATEWAY"] == f"{T.GW_OUT}:{T.GW_PORT}"
    assert up["ON_TUN"].split() == [f"{a1}/128"], "the hook runs after the address is in place"
    assert changed["M6T_STATE"] == "changed" and changed["M6T_REASON"] == "uplink_changed"
    assert changed["M6T_ADDRESS"] == a2 and changed["M6T_OLD_ADDRESS"] == a1
    assert changed["M6T_IPV4_ADDRESS"] == v4_2
    assert changed["ON_TUN"].split() == [f"{a2}/128"], "the old address is gone by then"
    assert down["M6T_STATE"] == "down" and down["M6T_REASON"] == "shutdown"
    assert down["M6T_ADDRESS"] == "" and down["M6T_OLD_ADDRESS"] == a2


def test_hanging_hook_never_stalls_the_tunnel(topo, tmp_path):
    pidfile = tmp_path / "hook.pid"
    hook = tmp_path / "hang.sh"
    hook.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 600\n")
    hook.chmod(0o755)
    topo.start_gateway()
    cl = topo.start_client(extra=["--hook", str(hook), "--hook-timeout-s", "2"])
    # The tunnel comes up and carries traffic while the hook hangs.
    a1 = topo.establish(cl)
    assert topo.ha.ping6(a1, 2).all_ok
    topo.wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 5, "the hook ran")
    hook_pid = int(pidfile.read_text())
    st = cl.show_json()["hook"]
    assert st["running"] is True and st["started"] == 1, st
    topo.wait_until(lambda: cl.show_json()["hook"]["timed_out"] == 1, 6, "the hook killed")
    assert not T.pid_alive(hook_pid), "the hanging hook is still alive"
    assert "killed" in cl.read_log()
    assert topo.ha.ping6(a1, 2).all_ok
