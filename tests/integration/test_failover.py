"""Beyond one gateway: slices of the MN prefix announced over BGP by three gateways (BIRD 2 with
BFD on each, and on the home-side router), configured from examples/cluster.toml by
`m6t cluster` (cluster.py has the layout). Each slice reaches its first-ranked gateway; a
gateway's process death, a stop with drain and a silent host failure move it to the next one,
and the first one's return takes it back. No state is copied between gateways: the MN's next
packet rebuilds its state on the new gateway, with the same binding (draft section 3).

Times are measured and reported (the `measure` fixture); the assertions hold the issue's
targets with room for this 2-core machine's scheduling."""

import json
import os
import signal
import statistics
import time

import pytest

import cluster as C
import topology as T

pytestmark = pytest.mark.m6t

ALL_FIRST = {0: "gw1", 1: "gw2", 2: "gw3"}
MN_PREFIX = T.mn_prefix80(subnet=5, mn_id=1)  # slice 0 (subnet IDs 0 to 16383)


@pytest.fixture
def bird(root):
    msg = C.missing()
    if msg:
        pytest.fail(msg, pytrace=False)


def up(make_topology, gateway_extra=()):
    topo = make_topology(cls=C.Cluster)
    for node in ("r1", "gw1", "gw2", "gw3"):
        topo.start_bird(node)
    for node in ("gw1", "gw2", "gw3"):
        topo.start_cluster_gateway(node, extra=gateway_extra)
    topo.wait_slices(ALL_FIRST, timeout=30)
    return topo


def same_state(topo, node, addr):
    return T.Topology.gw_state(topo.gateways[node].show_json(), addr)


def test_slices_move_on_death_drain_and_silent_failure_and_come_back(make_topology, m6t_bin,
                                                                       bird, measure):
    # Saves every second, so that gw1's return finds the MN's state; a short active lifetime,
    # so that a gateway the slice left forgets the MN before the next step (each step then
    # rebuilds the state where the slice goes).
    extra = ["--state-save-s", "1", "--active-lifetime-s", "5"]
    topo = up(make_topology, gateway_extra=extra)
    # Each gateway announces two routes per slice it is ranked for (the service address's /32
    # and the slice's part), no more; each slice goes to its first-ranked gateway.
    for node in ("gw1", "gw2", "gw3"):
        routes = topo.announced(node)
        assert sorted(routes) == sorted(C.SERVICES + C.SLICE_PARTS), (node, routes)
    # What R holds from each over BGP: one route per slice and family, and no update while
    # nothing starts, stops or fails (the routes are not per MN, nor per packet).
    before = {f"{g}_{af}": topo.bgp_imports(f"{g}_{af}") for g in ("gw1", "gw2", "gw3")
              for af in (4, 6)}
    assert all(routes == 3 for routes, _ in before.values()), before
    cl = topo.start_client(gateways=[f"{C.SERVICES[0]}:4500"], subnet=5)
    addr = topo.establish(cl)
    s1 = same_state(topo, "gw1", addr)
    assert s1 and s1["kind"] == "active", topo.gateways["gw1"].show_json()["states"]
    assert same_state(topo, "gw2", addr) is None and same_state(topo, "gw3", addr) is None
    assert s1["nat"].startswith(C.NAT_OUT + ":")
    ping = C.Pinger(topo.mn, T.HA_ADDR, "ping-100pps")
    ping.wait_answers(time.time(), 20)
    time.sleep(1.2)  # a save of gw1's states (--state-save-s 1) with the MN's in it
    after = {s: topo.bgp_imports(s) for s in before}
    assert after == before, f"BGP updates while nothing changed: {before} -> {after}"

    # 1. gw1's m6t dies (SIGKILL): its TUN device goes, the kernel takes its announced routes
    #    with it, BIRD withdraws them, R moves slice 0 to gw2; the MN's next packets rebuild
    #    the state there with the same binding.
    t0 = time.time()
    topo.gateways["gw1"].signal(signal.SIGKILL)
    reroute = topo.wait_slices({0: "gw2", 1: "gw2", 2: "gw3"}, timeout=5)
    measure("gateway process death -> R reroutes (poll, 50 ms resolution)", reroute)
    ping.wait_answers(time.time(), 20)
    gap, lost = ping.outage(t0 - 0.5, time.time())
    measure("gateway process death: MN outage at 100 packets/s", gap)
    measure("gateway process death: requests lost at 100 packets/s", lost, "pkts")
    assert gap < 1.0, gap
    s2 = same_state(topo, "gw2", addr)
    assert s2 and s2["kind"] == "active" and s2["nat"] == s1["nat"], s2
    assert topo.client_address(cl) == addr, "the MN kept its address"
    topo.gateways["gw1"].stop()

    # 2. gw1 returns: it restores the MN's state it had saved, announces slice 0 again, and R
    #    moves it back.
    t0 = time.time()
    topo.start_cluster_gateway("gw1", extra=extra)
    back = topo.wait_slices(ALL_FIRST, timeout=10)
    measure("first gateway back (ready) -> R routes slice 0 to it again", back)
    ping.wait_answers(time.time(), 20)
    gap, lost = ping.outage(t0, time.time())
    measure("first gateway's return: MN outage", gap)
    assert gap < 1.0, gap
    g1 = topo.gateways["gw1"].show_json()
    assert g1["state_stats"]["restored"] == 1, g1["state_stats"]
    assert same_state(topo, "gw1", addr)["nat"] == s1["nat"]
    topo.wait_until(lambda: same_state(topo, "gw2", addr) is None, 10,
                    "gw2 to forget the MN (its slice left)")
    time.sleep(1.2)

    # 3. A stop with drain (SIGTERM, drain-ms 1000 from the cluster file): the routes go
    #    first, gw1 serves on while R moves the slice: at most a round trip is lost.
    t0 = time.time()
    topo.gateways["gw1"].signal(signal.SIGTERM)
    reroute = topo.wait_slices({0: "gw2"}, timeout=5)
    measure("stop with drain -> R reroutes", reroute)
    assert topo.gateways["gw1"].wait(10) == 0
    drain_took = time.time() - t0
    ping.wait_answers(time.time(), 20)
    gap, lost = ping.outage(t0 - 0.5, time.time())
    measure("stop with drain: MN outage", gap)
    measure("stop with drain: requests lost at 100 packets/s", lost, "pkts")
    measure("stop with drain: SIGTERM -> exit", drain_took)
    assert lost <= 2, (gap, lost)
    s3 = same_state(topo, "gw2", addr)
    assert s3 and s3["kind"] == "active" and s3["nat"] == s1["nat"], s3
    log = topo.gateways["gw1"].read_log()
    assert "withdrew 6 announced route(s)" in log and "draining for 1000 ms" in log, log[-2000:]
    assert drain_took >= 1.0

    # 4. gw1 back, then a silent host failure: everything it sends or receives is dropped. R's
    #    BFD session to it times out and R moves the slice.
    topo.start_cluster_gateway("gw1", extra=extra)
    topo.wait_slices(ALL_FIRST, timeout=10)
    ping.wait_answers(time.time(), 20)
    topo.wait_until(lambda: same_state(topo, "gw2", addr) is None, 10,
                    "gw2 to forget the MN again")
    t0 = time.time()
    topo.gws[0].nft("""
table inet m6tsilent {
  chain drop_in { type filter hook input priority -300; policy drop; }
  chain drop_fwd { type filter hook forward priority -300; policy drop; }
  chain drop_out { type filter hook output priority -300; policy drop; }
}
""")
    reroute = topo.wait_slices({0: "gw2", 1: "gw2", 2: "gw3"}, timeout=5)
    measure("silent host failure -> R reroutes (BFD 3 x 100 ms)", reroute)
    assert reroute < 1.0, reroute
    ping.wait_answers(time.time(), 20)
    gap, lost = ping.outage(t0 - 0.5, time.time())
    measure("silent host failure: MN outage", gap)
    assert gap < 1.0, gap
    sessions = topo.birdc("r1", "show", "bfd", "sessions")
    gw1_line = [line for line in sessions.splitlines() if line.startswith(C.gw_addr4(1) + " ")]
    assert gw1_line and " Down " in gw1_line[0], sessions
    ping.stop()


@pytest.mark.slow  # waits for a keepalive interval and its retries
def test_an_idle_mn_is_back_within_its_keepalive_interval_and_says_why(make_topology, m6t_bin,
                                                                         bird, tmp_path, measure):
    topo = up(make_topology)
    runs = tmp_path / "hook-runs"
    runs.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$M6T_STATE $M6T_REASON $M6T_ADDRESS\" > "
                    f"{runs}/$(date +%s%N)\n")
    hook.chmod(0o755)
    keepalive = 5
    cl = topo.start_client(gateways=[f"{C.SERVICES[0]}:4500"], subnet=5,
                           extra=["--keepalive-s", str(keepalive), "--hook", str(hook)])
    addr = topo.establish(cl)
    assert same_state(topo, "gw1", addr)

    t0 = time.monotonic()
    topo.gateways["gw1"].signal(signal.SIGKILL)
    topo.wait_slices({0: "gw2"}, timeout=5)
    # The MN sends nothing: its next keepalive goes to gw2, which has no state for it and stays
    # silent; after the retries the client takes the gateway for lost and attaches anew
    # (section 3), the hook says why, and the new address reaches the HA (MIPv6 would now send
    # its Binding Update from it).
    new = topo.wait_client_address(cl, timeout=keepalive + 10, different_from=addr)
    back = time.monotonic() - t0
    measure("idle MN: gateway death -> new attachment", back)
    assert back < keepalive + 6, back
    assert topo.mn.wait_ping6(T.HA_ADDR, timeout=5).ok
    s = same_state(topo, "gw2", new)
    assert s and s["kind"] == "active"
    lines = [(runs / f).read_text().split() for f in sorted(os.listdir(runs))]
    assert ["changed", "gateway_lost", new] in lines, lines
    topo.gateways["gw1"].stop()


def test_200_mns_behind_one_nat_address_fail_over_together(make_topology, m6t_bin, bird,
                                                            measure):
    # The rule (docs/deployment.md): a gateway's creation burst per IPv4 address must hold
    # every MN behind one NAT address that may fail over to it at once: here 200, and the
    # cluster file's burst is 256 (in every gateway's generated settings).
    n = 200
    topo = up(make_topology)
    assert topo.gateways["gw2"].show_json()["limits"]["burst"] == 256
    out = topo.rundir / "mns.json"
    ready = topo.rundir / "mns.ready"
    base = "fd00:db8:1:6:1::"  # slice 0
    seconds = 9.0
    mns = topo.mn.spawn("mns", [T.PYTHON, T.HELPERS / "mns.py", "--gateway",
                                f"{C.SERVICES[0]}:4500", "--ha", T.HA_ADDR, "--base", base,
                                "--count", str(n), "--pps", "10", "--seconds", str(seconds),
                                "--out", out, "--ready-file", ready])
    topo.wait_until(ready.exists, 10, "the MNs sending")
    topo.wait_until(lambda: topo.gateways["gw1"].show_json()["states_active"] == n, 10,
                    f"{n} active states on gw1")
    conntrack = topo.nat.out([T.CONNTRACK, "-L", "-p", "udp"])
    assert conntrack.count(f"dst={C.SERVICES[0]}") >= n, "one NAT mapping per MN"
    t_kill = time.time()
    topo.gateways["gw1"].signal(signal.SIGKILL)
    topo.wait_slices({0: "gw2"}, timeout=5)
    topo.wait_until(lambda: mns.poll() is not None, seconds + 10, "the MNs to finish")
    res = json.loads(out.read_text())
    outages = []
    for i, times in enumerate(res["replies"]):
        after = [t for t in times if t > t_kill]
        before = [t for t in times if t <= t_kill]
        assert before and after, f"MN {i}: answers before {len(before)}, after {len(after)}"
        outages.append(after[0] - max(before))
    measure(f"{n} MNs behind one NAT address: worst outage", max(outages))
    measure(f"{n} MNs behind one NAT address: median outage", statistics.median(outages))
    assert max(outages) < 1.0, sorted(outages)[-10:]
    g2 = topo.gateways["gw2"].show_json()
    assert g2["states_active"] == n, g2["state_stats"]
    assert g2["drops"].get("rate_limited", 0) == 0, g2["drops"]
    topo.gateways["gw1"].stop()
