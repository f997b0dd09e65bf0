#!/usr/bin/python3
"""Where a ping's round trip spends its time, native routing against m6t's fast path: records
the scheduler, softirq and device tracepoints of every CPU (perf) while the MN pings the HA
100 times, then prints per path the median time from ping's wake-up to its first packet on a
device, the in-kernel span from there to the end of the NET_RX softirq that delivers the
answer, and how many CPUs took part.

    sudo /usr/bin/python3 bench/ping_trace.py [--paths native,m6t-fast] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paths as P  # noqa: E402

T = P.T
EVENTS = ("sched:sched_switch,irq:softirq_entry,irq:softirq_exit,net:netif_rx,"
          "net:netif_receive_skb,net:net_dev_xmit")


def record(name: str, out: Path) -> tuple[Path, float]:
    t = T.Topology(m6t_bin=P.ROOT / "build" / "m6t", label="ptrace", bridges=False).build()
    data = out / f"ping-trace-{name}.data"
    try:
        target, *_ = P.PATHS[name](t)
        perf = subprocess.Popen(["perf", "record", "-a", "-q", "-o", str(data), "-e", EVENTS,
                                 "--", "sleep", "3"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        rtts = P.ping(t.mn, target, 100, 0.01)
        perf.wait()
    finally:
        t.teardown()
    return data, statistics.mean(rtts)


def analyse(data: Path) -> dict:
    text = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, text=True,
                          check=True).stdout
    wake = first = None
    to_first, span, cpus = [], [], []
    seen: set[str] = set()
    for line in text.splitlines():
        f = line.split()
        try:
            ts = float(f[3].rstrip(":"))
        except (IndexError, ValueError):
            continue
        if "sched_switch" in line and "next_comm=ping" in line:
            wake, first, seen = ts, None, set()
        elif wake is not None and first is None and "net:netif_rx:" in line:
            first = ts
            to_first.append((ts - wake) * 1e6)
        if first is not None:
            seen.add(f[2])
            if "softirq_exit: vec=3" in line:
                span.append((ts - first) * 1e6)
                cpus.append(len(seen))
                wake = first = None
    return {"wake_to_first_packet_us": statistics.median(to_first),
            "kernel_span_us": statistics.median(span), "cpus": max(cpus), "pings": len(span)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", default="native,m6t-fast")
    ap.add_argument("--out", type=Path, default=P.ROOT / "build" / "bench")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    P.install(["iperf3", "ethtool", "linux-perf"])
    for name in a.paths.split(","):
        data, rtt = record(name, a.out)
        r = analyse(data)
        print(f"{name:10} ping {rtt * 1000:6.1f} us  wake->first packet "
              f"{r['wake_to_first_packet_us']:5.1f} us  kernel span {r['kernel_span_us']:5.1f} us"
              f"  CPUs {r['cpus']}  ({r['pings']} pings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
