"""A cluster of m6t gateways grown on BGP, in namespaces (tests/integration/test_failover.py): the
layout of examples/cluster.toml, whose `m6t cluster` output configures every BIRD and gateway::

    MN eth0 192.0.2.2/24 -- lan0 NAT wan0 198.51.100.1/24 (masquerade) -- wan0 R 198.51.100.254/24
                                                                          |
        GWi eth0 198.18.0.i/24, 2001:db8:ff::i/64  --(bridge gws0 on R: 198.18.0.254/24,
        lo: 203.0.113.10, .11, .12 (every slice's     2001:db8:ff::254/64)
        service address), m6t gateway, BIRD        R home0 2001:db8:1::1/64 -- home0 HA 2001:db8:1::2/64

R runs BIRD too: BGP with BFD to each gateway, the best-ranked live one's routes into its main
table. Each BIRD has its own configuration, control socket and pid file in the run directory;
each gateway its own state directory. Built and torn down like a Topology (same conftest
factory: ``make_topology(cls=cluster.Cluster)``).
"""

from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path

import topology as T

CLUSTER_TOML = T.REPO / "examples" / "cluster.toml"
BIRD = T.REPO / "build" / "tools" / "bird"
BIRDCL = T.REPO / "build" / "tools" / "birdcl"
SERVICES = ["203.0.113.10", "203.0.113.11", "203.0.113.12"]  # slices 0, 1, 2
RANKS = [["gw1", "gw2", "gw3"], ["gw2", "gw3", "gw1"], ["gw3", "gw1", "gw2"]]
SLICE_PARTS = ["fd00:db8:1::/50", "fd00:db8:1:4000::/50", "fd00:db8:1:8000::/50"]
NAT_OUT = "198.51.100.1"
R_WAN = "198.51.100.254"
R_GWS4, R_GWS6 = "198.18.0.254", "2001:db8:ff::254"
R_HOME = "2001:db8:1::1"


def missing() -> str | None:
    for p in (BIRD, BIRDCL):
        if not p.exists():
            return f"{p} is missing: scripts/deps.sh takes it from Debian's bird2 package"
    return None


def gw_addr4(i: int) -> str:
    return f"198.18.0.{i}"


def gw_addr6(i: int) -> str:
    return f"2001:db8:ff::{i}"


class Cluster(T.Topology):
    """Three gateways (``gws[0..2]`` = gw1..gw3), a router ``rtr``, an HA, a NAT and one MN."""

    def __init__(self, workdir=None, **kw):
        super().__init__(workdir, **kw)
        self.gws: list[T.Namespace] = []
        self.birds: dict[str, T.Process] = {}
        self.gateways: dict[str, T.Daemon] = {}

    def _build(self) -> None:
        self.mns = [self._ns("mn")]
        mn = self.mns[0]
        nat = self.nat = self._ns("nat")
        rtr = self.rtr = self._ns("rtr")
        ha = self.ha = self._ns("ha")
        self.gws = [self._ns(f"gw{i}") for i in (1, 2, 3)]
        self.gw = self.gws[0]

        # MN -- NAT (masquerade) -- R: the MN's IPv4 world.
        nat.sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1")
        self._veth(mn, "eth0", nat, "lan0")
        mn.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
        mn.ip("addr", "add", f"{T.MN_ADDRS[0]}/24", "dev", "eth0")
        mn.ip("link", "set", "eth0", "up")
        mn.ip("route", "add", "default", "via", T.NAT_IN, "dev", "eth0")
        self.mn_addr[mn.name] = T.MN_ADDRS[0]
        nat.ip("addr", "add", f"{T.NAT_IN}/24", "dev", "lan0")
        nat.ip("link", "set", "lan0", "up")
        self._veth(nat, "wan0", rtr, "wan0")
        nat.ip("addr", "add", f"{NAT_OUT}/24", "dev", "wan0")
        nat.ip("link", "set", "wan0", "up")
        nat.ip("route", "add", "default", "via", R_WAN, "dev", "wan0")
        nat.nft(T.NAT_RULESET)
        # R: forwards both families; the gateways' link is a bridge.
        rtr.sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                   "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
        rtr.sysctl("net.ipv6.conf.wan0.disable_ipv6=1")
        rtr.ip("addr", "add", f"{R_WAN}/24", "dev", "wan0")
        rtr.ip("link", "set", "wan0", "up")
        self._bridge(rtr, "gws0")
        rtr.ip("addr", "add", f"{R_GWS4}/24", "dev", "gws0")
        rtr.ip("-6", "addr", "add", f"{R_GWS6}/64", "dev", "gws0")
        rtr.ip("link", "set", "gws0", "up")
        self._veth(rtr, "home0", ha, "home0")
        rtr.ip("-6", "addr", "add", f"{R_HOME}/64", "dev", "home0")
        rtr.ip("link", "set", "home0", "up")
        ha.ip("-6", "addr", "add", f"{T.HA_ADDR}/64", "dev", "home0")
        ha.ip("link", "set", "home0", "up")
        ha.ip("-6", "route", "add", self.ula, "via", R_HOME, "dev", "home0")
        for i, gw in enumerate(self.gws, 1):
            port = f"gwp{i}"
            self._veth(gw, "eth0", rtr, port)
            rtr.ip("link", "set", port, "master", "gws0")
            rtr.ip("link", "set", port, "up")
            gw.sysctl("net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.rp_filter=0",
                      "net.ipv4.conf.default.rp_filter=0")
            gw.ip("addr", "add", f"{gw_addr4(i)}/24", "dev", "eth0")
            gw.ip("-6", "addr", "add", f"{gw_addr6(i)}/64", "dev", "eth0")
            gw.ip("link", "set", "eth0", "up")
            gw.ip("route", "add", "default", "via", R_GWS4, "dev", "eth0")
            gw.ip("-6", "route", "add", "default", "via", R_GWS6, "dev", "eth0")
            for s in SERVICES:  # every gateway listens on every slice's address
                gw.ip("addr", "add", f"{s}/32", "dev", "lo")
        self._wait_links_up()

    # --- BIRD -----------------------------------------------------------------------------
    def _generate(self, node: str, m6t: bool = False) -> str:
        cp = T.sh([self.m6t_bin, "cluster", CLUSTER_TOML, node, *(["--m6t"] if m6t else [])])
        return cp.stdout

    def bird_socket(self, node: str) -> Path:
        return self.rundir / f"bird-{node}.ctl"

    def start_bird(self, node: str) -> T.Process:
        ns = self.rtr if node == "r1" else self.gws[int(node[2:]) - 1]
        conf = self.rundir / f"bird-{node}.conf"
        # The generated configuration as it is, plus where this instance logs.
        conf.write_text("log stderr all;\n" + self._generate(node))
        p = ns.spawn(f"bird-{node}", [BIRD, "-f", "-c", conf, "-s", self.bird_socket(node),
                                      "-P", self.rundir / f"bird-{node}.pid"])
        self.birds[node] = p
        self.wait_until(lambda: p.alive() and self.bird_socket(node).exists(), 10,
                        f"BIRD of {node} listening on its control socket")
        return p

    def birdc(self, node: str, *cmd: str) -> str:
        ns = self.rtr if node == "r1" else self.gws[int(node[2:]) - 1]
        return ns.out([BIRDCL, "-s", self.bird_socket(node), *cmd])

    # --- gateways ---------------------------------------------------------------------------
    def start_cluster_gateway(self, node: str, extra=(), wait: bool = True) -> T.Daemon:
        i = int(node[2:])
        ns = self.gws[i - 1]
        conf = self.rundir / f"m6t-{node}.toml"
        conf.write_text(self._generate(node, m6t=True))
        args = ["--config", conf, "--home-agent", T.HA_ADDR, "--tun", "m6tgw0",
                "--state-dir", self.state_dir(node), *T.fast_path_args(extra), *extra]
        d = self._register(T.Daemon(ns, node, self.m6t_bin, "gateway", args,
                                    self.rundir / f"{node}.sock", self.log_path(node), "m6tgw0"))
        self.gateways[node] = d
        if wait:
            self.wait_gateway_ready(d)
        return d

    def router_nexthop(self, dst: str) -> str | None:
        """The gateway R sends `dst` to (gw1..gw3), or None."""
        fam = "-6" if ":" in dst else "-4"
        cp = self.rtr.run([T.IP, fam, "route", "get", dst], check=False)
        m = re.search(r" via (\S+)", cp.stdout)
        if not m:
            return None
        via = ipaddress.ip_address(m.group(1))
        for i in (1, 2, 3):
            if via in (ipaddress.ip_address(gw_addr4(i)), ipaddress.ip_address(gw_addr6(i))):
                return f"gw{i}"
        return None

    def wait_slices(self, want: dict[int, str], timeout: float = 20) -> float:
        """Waits until R sends each slice (its service address and its part) to the gateway
        `want[slice]`; returns the seconds it took."""
        t0 = time.monotonic()

        def ok():
            for sl, gw in want.items():
                part_addr = str(ipaddress.IPv6Network(SLICE_PARTS[sl])[1])
                if self.router_nexthop(SERVICES[sl]) != gw or \
                        self.router_nexthop(part_addr) != gw:
                    return False
            return True
        self.wait_until(ok, timeout, f"R to route the slices as {want}", interval=0.05)
        return time.monotonic() - t0

    def bgp_imports(self, session: str) -> tuple[int, int]:
        """R's BGP session `session` (gw1_4, gw2_6...): the routes it holds from that gateway
        and the updates it has received in all (BIRD's `show protocols all`)."""
        out = self.birdc("r1", "show", "protocols", "all", session)
        routes = re.search(r"Routes:\s+(\d+) imported", out)
        updates = re.search(r"Import updates:\s+(\d+)", out)
        if not routes or not updates:
            raise AssertionError(f"no route counts for {session}:\n{out}")
        return int(routes.group(1)), int(updates.group(1))

    def announced(self, node: str) -> list[str]:
        """The routes in gateway `node`'s announce table (what its BIRD learns)."""
        ns = self.gws[int(node[2:]) - 1]
        out = []
        for fam in ("-4", "-6"):
            out += [line.split()[0] for line in
                    ns.out([T.IP, fam, "route", "show", "table", "100"]).splitlines() if line]
        return out


_PING_LINE = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")


class Pinger:
    """ping6 at `interval` from `ns` to `dst` in the background; the wall-clock times of its
    answers, read back from its output (ping -D)."""

    def __init__(self, ns: T.Namespace, dst: str, name: str, interval: float = 0.01):
        self.interval = interval
        self.proc = ns.spawn(name, [T.PING, "-6", "-n", "-D", "-i", str(interval), "-W", "1",
                                    dst])

    def answers(self) -> list[tuple[float, int]]:
        """(time, icmp_seq) of every answer so far."""
        out = []
        for line in self.proc.read_log().splitlines():
            m = _PING_LINE.match(line)
            if m:
                out.append((float(m.group(1)), int(m.group(2))))
        return out

    def wait_answers(self, after: float, n: int = 10, timeout: float = 10) -> None:
        T.wait_until(lambda: sum(t > after for t, _ in self.answers()) >= n, timeout,
                     what=f"{n} answers to {self.proc.name}", interval=0.05)

    def outage(self, start: float, end: float) -> tuple[float, int]:
        """The longest time without an answer between `start` and `end` (wall clock), and how
        many requests of that window went unanswered (by sequence number)."""
        inside = [(t, q) for t, q in self.answers() if start <= t <= end]
        points = [start, *(t for t, _ in inside), end]
        gap = max(b - a for a, b in zip(points, points[1:]))
        seqs = sorted(q for _, q in inside)
        if not seqs:  # nothing answered in the window: all of it lost
            return gap, round((end - start) / self.interval)
        return gap, seqs[-1] - seqs[0] + 1 - len(set(seqs))

    def stop(self) -> None:
        self.proc.stop(timeout=3)
