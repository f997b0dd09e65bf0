#!/usr/bin/python3
"""Resident memory of a real gateway holding a million active states.

Not a test: a benchmark, run by hand as root from the repository root after a build::

    nice -n 10 /usr/bin/python3 bench/rss_1m.py [--states 1000000] [--rate 20000]

The states are made through the real code path, end to end, in network namespaces (the
integration tests' topology with its attacker namespace): m6t-attack sends, from a million
spoofed IPv4 sources of 198.19.0.0/16, a million first packets from distinct MN addresses to the
home agent, each an ICMPv6 echo request; the gateway creates a temporary state for each and
forwards it; the home agent's kernel answers every echo, and that answer, going back through the
gateway, activates the state (draft sections 3 and 6.1.3).  Passes with fresh MN addresses are
repeated until enough states are active (progress is counted on the attacker's side).  Then the gateway's VmRSS is read from /proc.  Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

import topology as T  # noqa: E402


def status_kb(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "VmSize:")):
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--states", type=int, default=1_000_000)
    p.add_argument("--rate", type=int, default=20_000, help="first packets per second")
    p.add_argument("--passes", type=int, default=6)
    p.add_argument("--m6t", default=str(T.default_m6t_bin()))
    args = p.parse_args()
    m6t = Path(args.m6t)
    tool = m6t.parent / "m6t-attack"
    cap = 1 << (args.states - 1).bit_length()  # the next power of two: room for every state

    with T.Topology(m6t_bin=m6t, attacker=True, label="rss_1m") as topo:
        # The HA answers every echo: no ICMPv6 rate limit in its namespace.
        topo.ha.sysctl("net.ipv6.icmp.ratelimit=0")
        gw = topo.start_gateway(extra=[
            "--max-states", str(cap), "--max-temp-states", str(cap),
            "--temp-lifetime-ms", "600000", "--active-lifetime-s", "3600",
            "--log-level", "warn"])
        empty = status_kb(gw.pid)
        first = gw.show_json()
        t0 = time.monotonic()
        passes = []
        # Progress is read on the attacker's side, not with `m6t show` (whose JSON, 10000
        # states long, would grow the gateway's heap and spoil the figure): every echo answer
        # the gateway forwards to a spoofed source went through an active state.
        # A first packet lost to the gateway's full socket buffer (the only loss seen: the
        # gateway, niced on a busy machine, falls behind) creates no state; later passes use
        # fresh MN addresses (--run) for what is still missing.
        active = 0
        ratio = 0.8
        for n in range(args.passes):
            remaining = args.states - active
            count = min(int(remaining / ratio) + 1000, cap - active - 1)
            before = topo.attacker_counters()["from_gw_udp"]["packets"]
            cp = topo.atk.run([tool, "flood", "--to", f"{T.GW_OUT}:{T.GW_PORT}",
                               "--from", T.ATTACKER_SPOOF, "--prefix", topo.ula,
                               "--home-agent", T.HA_ADDR, "--payload", "echo",
                               "--count", str(count), "--duration", "600", "--run", str(n),
                               "--rate", str(args.rate)], timeout=700)
            sent = json.loads(cp.stdout.strip().splitlines()[-1])
            time.sleep(2)  # the last answers
            answered = topo.attacker_counters()["from_gw_udp"]["packets"] - before
            active += answered
            ratio = max(answered / max(count, 1), 0.05)
            passes.append({"sent": count, "pps": sent["pps"], "activated": answered})
            print(f"pass {n + 1}: {count} first packets at {sent['pps']:.0f}/s, {answered} "
                  f"answered through the gateway, {active} active in all", file=sys.stderr)
            if active >= args.states:
                break
        fill_s = time.monotonic() - t0
        full = status_kb(gw.pid)
        g = gw.show_json(timeout=60)
        after_show = status_kb(gw.pid)
        active = g["states_active"]
        per_state = (full["VmRSS"] - empty["VmRSS"]) * 1024 / max(active, 1)
        result = {
            "states_active": active,
            "states_total": g["states_total"],
            "max_states": cap,
            "rss_empty_kib": empty["VmRSS"],
            "rss_full_kib": full["VmRSS"],
            "rss_after_show_kib": after_show["VmRSS"],
            "hwm_kib": after_show["VmHWM"],
            "vsz_kib": full["VmSize"],
            "rss_per_state_bytes": round(per_state, 1),
            "bytes_per_state_documented": first["memory"]["bytes_per_state"],
            "rate_limiter_bytes": g["memory"]["rate_limiter_bytes"],
            "fill_seconds": round(fill_s, 1),
            "passes": passes,
            "drops": {k: v for k, v in g["drops"].items() if v},
            "udp_send_errors": g["io"]["udp_send_errors"],
        }
        print(json.dumps(result))
        return 0 if active >= args.states else 1


if __name__ == "__main__":
    sys.exit(main())
