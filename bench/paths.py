#!/usr/bin/python3
"""The data path side by side: native kernel routing, m6t with and without its eBPF fast path,
and the tunnels users would otherwise pick (socat TUN<->UDP, OpenVPN 2.6 without cipher,
wireguard-go), interleaved over repetitions on the same namespaces MN - nftables NAT - GW - HA.

    sudo /usr/bin/python3 bench/paths.py [--reps 2] [--seconds 10] [--out DIR] [--paths ...]
    sudo /usr/bin/python3 bench/paths.py --smoke      # a few seconds: what the test run does

Per path: TCP bulk both ways (1 and 4 streams), the same with TSO/GSO off on the sender's
tunnel device (as for ESP, which MIPv6's protected traffic uses and which no device
offloads), 64-byte UDP received rate, ping RTT idle and its p50/p99 under a bulk transfer, and
CPU seconds per GB moved (all cores, from /proc/stat). Writes one JSON line per measurement
(paths.jsonl), a Markdown table of medians with ratios to native and to the best peer
(paths.md) and a chart (paths.png). Installs what it needs from Debian's archive.

miredo runs as Teredo client on the MN and as Teredo server and relay on the GW, with the
documentation prefix 2001:db8::/32 as its Teredo prefix; the HA is reached at a ULA of its own
(MIREDO_HA), outside that prefix, as a native IPv6 host behind the relay.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import topology as T  # noqa: E402

PACKAGES = ["iperf3", "socat", "openvpn", "wireguard-go", "wireguard-tools", "miredo",
            "miredo-server", "ethtool", "python3-matplotlib"]

# IPv4 between the GW and the HA for the native path (benchmarking range).
HOME4_GW = "198.18.1.1"
HOME4_HA = "198.18.1.2"
# The peers' tunnels: inner IPv6 addresses (ULA), one /64 each.
PEER_MN = "fd00:db8:77::2"
PEER_GW = "fd00:db8:77::1"
# Teredo: the server's two consecutive IPv4 addresses on the GW's outside link, the prefix it
# and the relay advertise, and the HA's address for that path (a native IPv6 host, outside the
# Teredo prefix, which the standard topology's HA address is not).
TEREDO_SERVER = "203.0.113.10"
TEREDO_SERVER2 = "203.0.113.11"
TEREDO_PREFIX = "2001:db8::"
MIREDO_HA = "fd00:db8:99::2"


SMOKE_PACKAGES = ["iperf3", "ethtool"]


def install(packages: list[str]) -> None:
    missing = [p for p in packages
               if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                 text=True).stdout.find("install ok installed") < 0]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The peers are started by the bench in its namespaces, never as system services: a
    # policy-rc.d (Debian's switch for that) keeps their packages from starting any (miredo's
    # would run a Teredo client on the host), unless one is already in place.
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                       check=True, env=env)
    finally:
        if ours:
            policy.unlink()


def cpu_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    vals = [int(v) for v in fields]
    idle = vals[3] + vals[4]
    return (sum(vals[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- paths -----------------------------------------------------------------------------------
# Each sets up its tunnel (or none) on a fresh topology and returns (mn_target, ha_target,
# mn_dev, ha_dev): the addresses each end reaches the other by, and the sender's device whose
# TSO/GSO the "offloads off" runs turn off.

def native(t: T.Topology):
    t.gw.sysctl("net.ipv4.ip_forward=1")
    t.gw.ip("addr", "add", f"{HOME4_GW}/24", "dev", "home0")
    t.ha.ip("addr", "add", f"{HOME4_HA}/24", "dev", "home0")
    t.ha.ip("route", "add", "default", "via", HOME4_GW)
    t.nat.ip("route", "add", "198.18.1.0/24", "via", T.GW_OUT)
    # The home side reaches the MN through the NAT by a forwarded port (iperf3's).
    t.nat.nft(f"""
table ip m6tbench {{
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" tcp dport 5201 dnat to {T.MN_ADDRS[0]}
    iifname "wan0" udp dport 5201 dnat to {T.MN_ADDRS[0]}
  }}
}}
""")
    return HOME4_HA, T.NAT_OUT, "eth0", "home0"


def m6t(fast: str):
    def setup(t: T.Topology):
        gw = t.start_gateway(extra=["--fast-path", fast])
        cl = t.start_client(extra=["--fast-path", fast])
        addr = t.establish(cl)
        t.bench_daemons = (gw, cl)  # type: ignore[attr-defined]
        return T.HA_ADDR, addr, "m6t0", "home0"
    return setup


def inner_routes(t: T.Topology, mn_dev: str, gw_dev: str) -> None:
    """IPv6 through a peer's tunnel: the MN's default, the GW's route back, the HA's via GW."""
    for ns, dev in ((t.mn, mn_dev), (t.gw, gw_dev)):
        ns.sysctl(f"net.ipv6.conf.{dev}.disable_ipv6=0", ignore_missing=True)
        ns.ip("link", "set", dev, "mtu", "1420", "up")
    t.mn.ip("-6", "addr", "add", f"{PEER_MN}/64", "dev", mn_dev)
    t.gw.ip("-6", "addr", "add", f"{PEER_GW}/64", "dev", gw_dev)
    t.mn.ip("-6", "route", "add", "default", "dev", mn_dev)
    t.ha.ip("-6", "route", "add", "fd00:db8:77::/64", "via", T.GW_HOME)


def wait_iface(ns: T.Namespace, dev: str, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ns.has_link(dev):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{dev} did not appear in {ns.name}")


def socat(t: T.Topology):
    # The listening side opens its TUN device when the first datagram arrives.
    t.gw.spawn("socat-gw", ["socat", "UDP4-LISTEN:5555,reuseaddr",
                            "TUN,tun-type=tun,iff-no-pi,iff-up,tun-name=sc0"])
    time.sleep(0.3)
    t.mn.spawn("socat-mn", ["socat", f"UDP4:{T.GW_OUT}:5555",
                            "TUN,tun-type=tun,iff-no-pi,iff-up,tun-name=sc0"])
    wait_iface(t.mn, "sc0")
    t.mn.ip("link", "set", "sc0", "up")
    t.mn.sysctl("net.ipv6.conf.sc0.disable_ipv6=0", ignore_missing=True)
    t.mn.ip("-6", "addr", "add", f"{PEER_MN}/64", "dev", "sc0")
    end = time.monotonic() + 10
    while not t.gw.has_link("sc0") and time.monotonic() < end:
        t.mn.run(["ping", "-6", "-c", "1", "-W", "0.2", PEER_GW], check=False)
    wait_iface(t.gw, "sc0")
    t.gw.sysctl("net.ipv6.conf.sc0.disable_ipv6=0", ignore_missing=True)
    t.gw.ip("-6", "addr", "add", f"{PEER_GW}/64", "dev", "sc0")
    for ns in (t.mn, t.gw):
        ns.ip("link", "set", "sc0", "mtu", "1420", "up")
    t.mn.ip("-6", "route", "add", "default", "dev", "sc0")
    t.ha.ip("-6", "route", "add", "fd00:db8:77::/64", "via", T.GW_HOME)
    return T.HA_ADDR, PEER_MN, "sc0", "home0"


def openvpn(t: T.Topology):
    # Peer-to-peer, no TLS, no key: the data channel as plain as OpenVPN 2.6 allows.
    common = ["--dev", "ov0", "--dev-type", "tun", "--proto", "udp4", "--data-ciphers", "none",
              "--cipher", "none", "--auth", "none", "--verb", "1"]
    t.gw.spawn("openvpn-gw", ["openvpn", "--lport", "1194", *common,
                              "--ifconfig-ipv6", f"{PEER_GW}/64", PEER_MN])
    t.mn.spawn("openvpn-mn", ["openvpn", "--remote", T.GW_OUT, "1194", *common,
                              "--ifconfig-ipv6", f"{PEER_MN}/64", PEER_GW])
    wait_iface(t.gw, "ov0")
    wait_iface(t.mn, "ov0")
    for ns in (t.mn, t.gw):
        ns.ip("link", "set", "ov0", "mtu", "1420")
    t.mn.ip("-6", "route", "add", "default", "dev", "ov0")
    t.ha.ip("-6", "route", "add", "fd00:db8:77::/64", "via", T.GW_HOME)
    return T.HA_ADDR, PEER_MN, "ov0", "home0"


def wireguard_go(t: T.Topology):
    keys = {}
    for side in ("mn", "gw"):
        priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                              check=True).stdout.strip()
        pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True,
                             check=True).stdout.strip()
        path = t.rundir / f"wg-{side}.key"
        path.write_text(priv + "\n")
        path.chmod(0o600)
        keys[side] = (path, pub)
    # Distinct names: the namespaces share /var/run/wireguard, where each device has its
    # control socket.
    dev = {"gw": f"wg{t.id[-6:]}g", "mn": f"wg{t.id[-6:]}m"}
    for ns, side, other in ((t.gw, "gw", "mn"), (t.mn, "mn", "gw")):
        ns.spawn(f"wireguard-go-{side}", ["env", "WG_PROCESS_FOREGROUND=1", "wireguard-go",
                                          "-f", dev[side]])
        wait_iface(ns, dev[side])
        args = ["wg", "set", dev[side], "private-key", str(keys[side][0]), "peer", keys[other][1],
                "allowed-ips", "::/0" if side == "mn" else "fd00:db8:77::/64"]
        if side == "gw":
            args[3:3] = ["listen-port", "51820"]
        else:
            args += ["endpoint", f"{T.GW_OUT}:51820", "persistent-keepalive", "25"]
        ns.run(args)
    inner_routes(t, dev["mn"], dev["gw"])
    t.mn.run(["ping", "-6", "-c", "1", "-W", "1", PEER_GW], check=False)
    return T.HA_ADDR, PEER_MN, dev["mn"], "home0"


def miredo(t: T.Topology):
    for addr in (TEREDO_SERVER, TEREDO_SERVER2):
        t.gw.ip("addr", "add", f"{addr}/24", "dev", "wan0")
    confs = {
        "server": f"ServerBindAddress {TEREDO_SERVER}\nPrefix {TEREDO_PREFIX}\n",
        "relay": f"RelayType cone\nInterfaceName teredo\nBindAddress {T.GW_OUT}\n"
                 f"Prefix {TEREDO_PREFIX}\n",
        "client": f"RelayType client\nInterfaceName teredo\nServerAddress {TEREDO_SERVER}\n",
    }
    for role, text in confs.items():
        (t.rundir / f"miredo-{role}.conf").write_text(text)
    # Own PID files: the namespaces share the file system.
    def start(ns, role, prog):
        ns.spawn(f"miredo-{role}", [prog, "-f", "-c", str(t.rundir / f"miredo-{role}.conf"),
                                     "-p", str(t.rundir / f"miredo-{role}.pid")])
    start(t.gw, "server", "miredo-server")
    start(t.gw, "relay", "miredo")
    wait_iface(t.gw, "teredo")
    t.ha.ip("-6", "addr", "add", f"{MIREDO_HA}/64", "dev", "home0")
    # From MIREDO_HA: a source in the Teredo prefix would be taken for a Teredo peer's.
    t.ha.ip("-6", "route", "add", f"{TEREDO_PREFIX}/32", "via", T.GW_HOME, "src", MIREDO_HA)
    t.gw.ip("-6", "route", "add", "fd00:db8:99::/64", "via", T.HA_ADDR)
    start(t.mn, "client", "miredo")
    wait_iface(t.mn, "teredo")
    # Qualified when the client has its Teredo address; then a first packet finds the relay.
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if TEREDO_PREFIX.rstrip(":") in t.mn.out(["ip", "-6", "addr", "show", "dev", "teredo"]):
            break
        time.sleep(0.2)
    else:
        raise RuntimeError("the Teredo client did not qualify")
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if t.mn.run(["ping", "-6", "-c", "1", "-W", "1", MIREDO_HA], check=False).returncode == 0:
            break
    else:
        raise RuntimeError("no IPv6 through the Teredo relay")
    addr = next(w.split("/")[0] for w in t.mn.out(["ip", "-6", "-o", "addr", "show", "dev",
                                                   "teredo", "scope", "global"]).split()
                if w.startswith(TEREDO_PREFIX.rstrip(":")))
    return MIREDO_HA, addr, "teredo", "home0"


PATHS = {
    "native": native,
    "m6t-fast": m6t("on"),
    "m6t-user": m6t("off"),
    "socat": socat,
    "miredo": miredo,
    "openvpn": openvpn,
    "wireguard-go": wireguard_go,
}
PEERS = ["socat", "miredo", "openvpn", "wireguard-go"]


# --- measurements ---------------------------------------------------------------------------

def iperf(client: T.Namespace, server: T.Namespace, target: str, seconds: float,
          extra: list[str]) -> dict:
    srv = server.spawn(f"iperf3-s-{time.monotonic_ns()}", ["iperf3", "-s", "-1"])
    time.sleep(0.3)
    try:
        cpu0 = cpu_busy_seconds()
        out = client.out(["iperf3", "-c", target, "-t", str(seconds), "-J", *extra],
                         timeout=seconds + 30)
        cpu = cpu_busy_seconds() - cpu0
    finally:
        srv.stop(timeout=3)
    return {"iperf": json.loads(out), "cpu_s": cpu}


def tcp(client, server, target, seconds, streams=1) -> dict:
    r = iperf(client, server, target, seconds, ["-P", str(streams)])
    end = r["iperf"]["end"]
    gbit = end["sum_received"]["bits_per_second"] / 1e9
    gbytes = end["sum_received"]["bytes"] / 1e9
    return {"gbit_s": gbit, "cpu_s_per_gb": r["cpu_s"] / gbytes if gbytes else None}


def udp64(client, server, target, seconds) -> dict:
    r = iperf(client, server, target, seconds, ["-u", "-l", "64", "-b", "0"])
    s = r["iperf"]["end"]["sum"]
    received = s["packets"] - s["lost_packets"]
    return {"kpps_received": received / s["seconds"] / 1e3}


def ping(ns: T.Namespace, target: str, count: int, interval: float = 0.01) -> list[float]:
    out = ns.run(["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1", target],
                 check=False, timeout=count * interval + 30).stdout
    return [float(w.split("=")[1]) for line in out.splitlines() for w in line.split()
            if w.startswith("time=")]


def percentile(v: list[float], p: float) -> float | None:
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def offloads(ns: T.Namespace, dev: str, on: bool) -> None:
    """TSO/GSO of the sender's device on or off. Off also limits the device to one segment per
    packet (gso_max_segs 1): the host's TCP builds GSO packets whatever the device says, and
    segments them only after the TC hooks; with one segment per packet it sends what an ESP
    flow sends, which no device offloads."""
    state = "on" if on else "off"
    ns.run(["ethtool", "-K", dev, "tso", state, "gso", state], check=False)
    ns.ip("link", "set", "dev", dev, "gso_max_segs", "65535" if on else "1", check=False)


def measure(name: str, seconds: float, smoke: bool, emit) -> None:
    t = T.Topology(m6t_bin=ROOT / "build" / "m6t", label="bench", bridges=False).build()
    try:
        mn_target, ha_target, mn_dev, ha_dev = PATHS[name](t)
        for direction, client, server, target, dev in (
                ("mn_to_ha", t.mn, t.ha, mn_target, mn_dev),
                ("ha_to_mn", t.ha, t.mn, ha_target, ha_dev)):
            for streams in ((1,) if smoke else (1, 4)):
                emit(name, f"tcp_{direction}_{streams}", tcp(client, server, target, seconds,
                                                             streams))
            if not smoke:
                offloads(client, dev, False)
                emit(name, f"tcp_{direction}_1_no_offload",
                     tcp(client, server, target, seconds))
                offloads(client, dev, True)
        emit(name, "udp64_mn_to_ha", udp64(t.mn, t.ha, mn_target, seconds))
        idle = ping(t.mn, mn_target, 20 if smoke else 200)
        emit(name, "ping_idle", {"avg_ms": statistics.mean(idle) if idle else None})
        # Under load: a bulk transfer MN -> HA while pinging.
        srv = t.ha.spawn("iperf3-load", ["iperf3", "-s", "-1"])
        time.sleep(0.3)
        bulk = t.mn.spawn("iperf3-bulk", ["iperf3", "-c", mn_target, "-t", str(seconds + 2)])
        time.sleep(1)
        loaded = ping(t.mn, mn_target, int(seconds / 0.01) if not smoke else 50)
        bulk.stop(timeout=seconds + 10)
        srv.stop(timeout=3)
        emit(name, "ping_loaded", {"p50_ms": percentile(loaded, 50),
                                   "p99_ms": percentile(loaded, 99)})
        if name.startswith("m6t"):
            gw, cl = t.bench_daemons  # type: ignore[attr-defined]
            fp = gw.show_json().get("fast_path", {})
            emit(name, "fast_path", {"active": fp.get("active"),
                                     "per_cpu_forwarded_in": [c["forwarded_in"]["packets"]
                                                              for c in fp.get("per_cpu", [])],
                                     "passed": fp.get("passed")})
    finally:
        t.teardown()


# --- report -----------------------------------------------------------------------------------

METRICS = [  # (test, field, label, higher is better)
    ("tcp_mn_to_ha_1", "gbit_s", "TCP MN→HA (Gb/s)", True),
    ("tcp_ha_to_mn_1", "gbit_s", "TCP HA→MN (Gb/s)", True),
    ("tcp_mn_to_ha_4", "gbit_s", "TCP MN→HA ×4", True),
    ("tcp_ha_to_mn_4", "gbit_s", "TCP HA→MN ×4", True),
    ("tcp_mn_to_ha_1_no_offload", "gbit_s", "TCP MN→HA, no TSO/GSO", True),
    ("tcp_ha_to_mn_1_no_offload", "gbit_s", "TCP HA→MN, no TSO/GSO", True),
    ("udp64_mn_to_ha", "kpps_received", "UDP 64 B (kpps)", True),
    ("ping_idle", "avg_ms", "ping idle (ms)", False),
    ("ping_loaded", "p50_ms", "ping loaded p50", False),
    ("ping_loaded", "p99_ms", "ping loaded p99", False),
    ("tcp_mn_to_ha_1", "cpu_s_per_gb", "CPU s/GB MN→HA", False),
]


def medians(records: list[dict]) -> dict:
    out: dict = {}
    for r in records:
        v = r["value"]
        for field, x in v.items():
            if isinstance(x, (int, float)) and x is not None:
                out.setdefault((r["path"], r["test"], field), []).append(x)
    return {k: statistics.median(v) for k, v in out.items()}


def report(records: list[dict], out: Path, paths: list[str]) -> str:
    m = medians(records)
    rows = [(test, field, label, hib) for test, field, label, hib in METRICS
            if any((p, test, field) in m for p in paths)]
    head = "| path | " + " | ".join(label for _, _, label, _ in rows) + " |"
    lines = [head, "|" + "---|" * (len(rows) + 1)]
    for p in paths:
        cells = []
        for test, field, _, _ in rows:
            v = m.get((p, test, field))
            cells.append("" if v is None else f"{v:.3g}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    # Ratios: m6t with the fast path against native and against the best peer.
    for base in ("native", "best peer"):
        cells = []
        for test, field, _, hib in rows:
            ours = m.get(("m6t-fast", test, field))
            if base == "native":
                ref = m.get(("native", test, field))
            else:
                vals = [m[(p, test, field)] for p in PEERS if (p, test, field) in m]
                ref = (max(vals) if hib else min(vals)) if vals else None
            cells.append("" if not ours or not ref else f"{ours / ref:.2f}×")
        lines.append(f"| m6t-fast ÷ {base} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (out / "paths.md").write_text(table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        tests = [(t, f, l) for t, f, l, h in rows if f == "gbit_s"]
        fig, ax = plt.subplots(figsize=(11, 4.5))
        width = 0.8 / max(1, len(paths))
        for i, p in enumerate(paths):
            ax.bar([j + i * width for j in range(len(tests))],
                   [m.get((p, t, f), 0) for t, f, _ in tests], width, label=p)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(tests))])
        ax.set_xticklabels([l for _, _, l in tests], fontsize=8)
        ax.set_ylabel("Gb/s (median)")
        ax.set_title("m6t and its peers on MN - NAT - GW - HA (2 cores, veth)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "paths.png", dpi=110)
    except ImportError:
        pass
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--paths", default=",".join(PATHS))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--smoke", action="store_true",
                    help="one short repetition of native and m6t: checks the bench runs")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/paths.py needs root (network namespaces)", file=sys.stderr)
        return 2
    install(SMOKE_PACKAGES if a.smoke else PACKAGES)
    paths = a.paths.split(",")
    if a.smoke:
        a.reps, a.seconds = 1, 1
        paths = ["native", "m6t-fast", "m6t-user"]
    a.out.mkdir(parents=True, exist_ok=True)
    jsonl = a.out / "paths.jsonl"
    records: list[dict] = []
    with open(jsonl, "w") as f:
        def emit(path: str, test: str, value: dict) -> None:
            r = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "rep": rep, "path": path, "test": test, "value": value}
            records.append(r)
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(json.dumps(r), flush=True)
        for rep in range(a.reps):
            # Interleaved: every path once per repetition, the order rotated.
            order = paths[rep % len(paths):] + paths[:rep % len(paths)]
            for p in order:
                try:
                    measure(p, a.seconds, a.smoke, emit)
                except Exception as e:  # a peer that fails is reported, the others go on
                    emit(p, "error", {"error": str(e)[:500]})
                    if a.smoke:
                        raise
    print(report(records, a.out, paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
