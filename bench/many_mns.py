#!/usr/bin/python3
"""Packets per second through a gateway holding many active MNs, against one MN.

    sudo /usr/bin/python3 bench/many_mns.py [--mns 10000] [--reps 3] [--seconds 5]
                                            [--fast-path on,off] [--out DIR]

The MNs are made through the real code path, in network namespaces (the integration tests'
topology with its attacker namespace, which owns the spoofed range 198.19.0.0/16): m6t-attack
sends from N IPv4 sources one first packet per MN, an ICMPv6 echo request to the home agent;
the HA's answer activates each state (draft section 3). Then the same generator sends, as fast
as it can, echo requests cycling over those N MNs (each from its own binding) for --seconds,
and the bench counts what crossed the gateway: requests received on the HA's home0 (MN -> HA,
decapsulated) and answers received back in the attacker namespace (HA -> MN, encapsulated).
N = 1 and N = --mns alternate, over --reps repetitions, with the fast path on and off.

Also reports the kernel memory of the fast path's state maps (bpftool's memlock of gw_states
and gw_activity, which counts the elements allocated): what N active states add, per state,
and what the empty maps hold per --max-states (their hash buckets).

Writes many_mns.jsonl and many_mns.md (medians, and the ratio of N MNs to one MN) in --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import topology as T  # noqa: E402

TOOL = ROOT / "build" / "m6t-attack"


def rx_packets(ns: T.Namespace, dev: str) -> int:
    link = json.loads(ns.out(["ip", "-s", "-j", "link", "show", "dev", dev]))[0]
    return link["stats64"]["rx"]["packets"]


def attack(topo: T.Topology, mns: int, run: int, extra: list[str], timeout: float) -> dict:
    cp = topo.atk.run([str(TOOL), "flood", "--to", f"{T.GW_OUT}:{T.GW_PORT}",
                       "--from", T.ATTACKER_SPOOF, "--prefix", topo.ula,
                       "--home-agent", T.HA_ADDR, "--payload", "echo", "--mns", str(mns),
                       "--run", str(run), *extra], timeout=timeout)
    return json.loads(cp.stdout.strip().splitlines()[-1])


def activate(topo: T.Topology, gw, mns: int, run: int) -> int:
    """Makes (or refreshes) the N states of `run` and waits until they are active."""
    for _ in range(5):
        attack(topo, mns, run, ["--count", str(mns), "--duration", "60", "--rate", "5000"], 90)
        time.sleep(1)
        g = gw.show_json(timeout=60)
        if g["states_active"] >= mns:
            return g["states_active"]
    return g["states_active"]


def map_memory() -> dict:
    """memlock of the newest gw_states and gw_activity maps (the bench's gateway is the only
    one running; bpftool here lists no owning PIDs)."""
    maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                                     text=True, check=True).stdout)
    newest: dict = {}
    for m in maps:
        if m.get("name") in ("gw_states", "gw_activity"):
            if m["name"] not in newest or m["id"] > newest[m["name"]]["id"]:
                newest[m["name"]] = m
    return {k: v["bytes_memlock"] for k, v in newest.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mns", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--fast-path", default="on,off")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    a = ap.parse_args()
    if not TOOL.is_file():
        print(f"{TOOL} not built (cmake --build build)", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    records = []
    with open(a.out / "many_mns.jsonl", "w") as f:
        def emit(r: dict) -> None:
            r["time"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            records.append(r)
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(json.dumps(r), flush=True)

        for fast in a.fast_path.split(","):
            with T.Topology(m6t_bin=ROOT / "build" / "m6t", attacker=True,
                            label="bench-mns") as topo:
                topo.ha.sysctl("net.ipv6.icmp.ratelimit=0")  # the HA answers every echo
                cap = 1 << (2 * a.mns + 2).bit_length()
                gw = topo.start_gateway(extra=["--fast-path", fast, "--max-states", str(cap),
                                               "--max-temp-states", str(cap),
                                               "--active-lifetime-s", "600",
                                               "--log-level", "warn"])
                empty = map_memory() if fast == "on" else {}
                runs = {1: 1, a.mns: 2}  # N -> run: each N its own MN addresses
                for n, run in runs.items():
                    activate(topo, gw, n, run)
                active = gw.show_json(timeout=60)["states_active"]
                if fast == "on":
                    # Empty, the maps hold their buckets (by --max-states); each active
                    # state adds an element to both.
                    mem = map_memory()
                    grown = sum(mem.values()) - sum(empty.values())
                    emit({"fast_path": fast, "test": "map_memory", "states_active": active,
                          "max_states": cap, "bytes_empty": empty, "bytes": mem,
                          "bucket_bytes_per_max_state": sum(empty.values()) / cap,
                          "bytes_per_state": grown / max(active, 1)})
                for rep in range(a.reps):
                    order = list(runs.items())
                    if rep % 2:
                        order.reverse()
                    for n, run in order:
                        up0 = rx_packets(topo.ha, "home0")
                        down0 = topo.attacker_counters()["from_gw_udp"]["packets"]
                        sent = attack(topo, n, run, ["--count", "1000000000", "--duration",
                                                     str(a.seconds)], a.seconds + 60)
                        time.sleep(0.5)  # the last answers
                        up = rx_packets(topo.ha, "home0") - up0
                        down = topo.attacker_counters()["from_gw_udp"]["packets"] - down0
                        emit({"fast_path": fast, "test": "forward", "mns": n, "rep": rep,
                              "sent_pps": sent["pps"], "to_ha_pps": up / sent["seconds"],
                              "to_mn_pps": down / sent["seconds"]})
                g = gw.show_json(timeout=60)
                emit({"fast_path": fast, "test": "end", "states_active": g["states_active"],
                      "drops": {k: v for k, v in g["drops"].items() if v},
                      "fast_path_status": {k: g.get("fast_path", {}).get(k)
                                           for k in ("active", "passed", "failed")}})

    lines = ["| fast path | MNs | sent (kpps) | MN→HA forwarded (kpps) | HA→MN forwarded (kpps) |",
             "|---|---|---|---|---|"]
    ratios = []
    for fast in a.fast_path.split(","):
        med = {}
        for n in (1, a.mns):
            rs = [r for r in records if r["test"] == "forward" and r["fast_path"] == fast
                  and r["mns"] == n]
            if not rs:
                continue
            med[n] = {k: statistics.median(r[k] for r in rs)
                      for k in ("sent_pps", "to_ha_pps", "to_mn_pps")}
            m = med[n]
            lines.append(f"| {fast} | {n} | {m['sent_pps'] / 1e3:.0f} | "
                         f"{m['to_ha_pps'] / 1e3:.0f} | {m['to_mn_pps'] / 1e3:.0f} |")
        if 1 in med and a.mns in med:
            ratios.append(f"fast path {fast}: {a.mns} MNs ÷ 1 MN = "
                          f"{med[a.mns]['to_ha_pps'] / med[1]['to_ha_pps']:.2f}× (MN→HA), "
                          f"{med[a.mns]['to_mn_pps'] / max(med[1]['to_mn_pps'], 1):.2f}× (HA→MN)")
    for r in records:
        if r["test"] == "map_memory" and r["bytes_per_state"]:
            ratios.append(f"fast-path maps at {r['states_active']} active states: "
                          f"{r['bytes_per_state']:.0f} bytes per state, plus "
                          f"{r['bucket_bytes_per_max_state']:.0f} bytes per --max-states "
                          f"(hash buckets, allocated at start)")
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {x}" for x in ratios) + "\n"
    (a.out / "many_mns.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
