"""Network-namespace topologies for the m6t integration tests and the demo.

Run with Debian's /usr/bin/python3 (needs root).  Everything here shells out to ``ip``,
``nft``, ``sysctl`` and ``conntrack``; the m6t daemons themselves are only started, never
helped.

Standard topology (``Topology()``)::

    MN  eth0 192.0.2.2/24 ----- lan0 192.0.2.1/24  NAT  wan0 203.0.113.1/24 ----+
    (IPv4 only, default via 192.0.2.1)   (masquerade on wan0)                      |
                                                                                   |
    HA  home0 2001:db8:1::2/64 ---- home0 2001:db8:1::1/64  GW  wan0 203.0.113.2/24
        route fd00:db8:1::/48 via 2001:db8:1::1           (IPv6 forwarding on)

``lan0`` on the NAT and ``wan0`` on the GW are bridges, so that more MNs (``n_mns=2``: a second
MN namespace with 192.0.2.3) and a second NAT router (``second_uplink=True``: the MN gets
``eth1`` 198.51.100.2/24 behind NAT2 198.51.100.1 / 203.0.113.3) can hang off the same links.
With ``attacker=True`` an ``atk`` namespace (``ATTACKER``, and the spoofed range
``ATTACKER_SPOOF`` routed to it by the GW) hangs off the GW's outside bridge, with nftables
counters of what it sends to and receives from the gateway (``attacker_counters()``).
With ``colocated=True`` the gateway runs on the HA host: GW and HA are one namespace, the HA
address 2001:db8:1::2/128 sits on its loopback, and the gateway's own route of the tunnel
prefix into its TUN device is the only route towards the MNs.

With ``narrow_mtu=N`` (path-MTU tests) an IPv4 router RTR sits between the NAT and the GW, and
the NAT-RTR link has MTU N (both ends), so that datagrams cross it fragmented or, with DF set,
meet an ICMP "fragmentation needed" (from the NAT toward the MN, from RTR toward the GW)::

    NAT wan0 198.18.0.1/24 --(mtu N)-- in0 198.18.0.254/24  RTR  out0 203.0.113.254/24 -- GW wan0

With ``wide_mn=True`` a further MN namespace (``mnw``, 203.0.113.20/24, no NAT) hangs off the
GW's wan0 bridge: an MN on a full-size path next to the narrow one.  The default topology is
unchanged by both options.

With ``bridges=False`` (the benchmarks) the links are plain veth pairs, MN eth0 -- NAT lan0 and
NAT wan0 -- GW wan0, same names and addresses: a Linux bridge has no offloads for encapsulated
packets (no hw_enc_features), so it segments a tunnel's GSO packets in software where a NIC with
UDP-tunnel segmentation, or a veth, passes them whole.

Every instance has unique namespace names (``m6t<pid>-<n>-<role>``), its own log directory
(``workdir``) and a short per-instance run directory for control sockets.  ``teardown()``
stops every process started through it (by PID: SIGTERM, then SIGKILL), kills by PID any
process still left inside its namespaces, and deletes the namespaces; it is idempotent and is
also run at interpreter exit for instances that were not torn down.
"""

from __future__ import annotations

import atexit
import dataclasses
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HELPERS = HERE / "helpers"
PYTHON = "/usr/bin/python3"
TCPXFER = HELPERS / "tcpxfer.py"
SNIFF6 = HELPERS / "sniff6.py"

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"
SYSCTL = shutil.which("sysctl") or "/usr/sbin/sysctl"
CONNTRACK = shutil.which("conntrack") or "/usr/sbin/conntrack"
PING = shutil.which("ping") or "/usr/bin/ping"

# --- addressing plan (documentation and ULA ranges only) -------------------------------------
MN_LAN = "192.0.2.0/24"
NAT_IN = "192.0.2.1"
MN_ADDRS = ["192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"]
NAT_OUT = "203.0.113.1"
GW_OUT = "203.0.113.2"
NAT2_OUT = "203.0.113.3"
NAT2_IN = "198.51.100.1"
MN_UPLINK2 = "198.51.100.2"
NARROW_NAT_OUT = "198.18.0.1"
RTR_IN = "198.18.0.254"
RTR_OUT = "203.0.113.254"
WIDE_MN_ADDR = "203.0.113.20"
GW_HOME = "2001:db8:1::1"
HA_ADDR = "2001:db8:1::2"
ULA_PREFIX = "fd00:db8:1::/48"
GW_PORT = 4500
# Attacker (``attacker=True``): a host on the GW's outside segment, owning ATTACKER and every
# address of ATTACKER_SPOOF (the GW routes that range to it), so that whatever the gateway sends
# to a spoofed source is seen and counted in the attacker's namespace.
ATTACKER = "203.0.113.66"
ATTACKER_SPOOF = "198.19.0.0/16"

# A NAT router's nftables: masquerade on its outside interface wan0, and an empty forward chain
# that block_udp_to_gw() fills.
NAT_MASQUERADE = """
table ip m6tnat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
"""
NAT_RULESET = NAT_MASQUERADE + """
table ip m6tfilter {
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
}
"""

_counter = itertools.count(1)
_live: "set[Topology]" = set()
_live_lock = threading.Lock()


class CommandError(RuntimeError):
    pass


class WaitTimeout(AssertionError):
    """A polled condition did not hold in time (an AssertionError so pytest shows it as such)."""


class DaemonExited(AssertionError):
    """A daemon being waited on has exited: waiting longer is pointless."""


def default_m6t_bin() -> Path:
    return Path(os.environ.get("M6T_BIN") or REPO / "build" / "m6t")


def mn_prefix80(ula: str = ULA_PREFIX, subnet: int = 0, mn_id: int = 1) -> str:
    """The MN's /80 (draft section 2.2): /48 ULA | 16-bit subnet | 16-bit MN ID."""
    net = ipaddress.IPv6Network(ula)
    if net.prefixlen != 48:
        raise ValueError(f"{ula}: expected a /48")
    if not (0 <= subnet < 1 << 16 and 0 <= mn_id < 1 << 16):
        raise ValueError("subnet and MN ID are 16-bit values")
    value = int(net.network_address) | subnet << 64 | mn_id << 48
    return f"{ipaddress.IPv6Address(value)}/80"


def sh(argv: Sequence[str], *, check: bool = True, timeout: float = 30, input: str | None = None
       ) -> subprocess.CompletedProcess:
    argv = [str(a) for a in argv]
    try:
        cp = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed the child (by PID)
        raise CommandError(f"timed out after {timeout}s: {' '.join(argv)}") from e
    if check and cp.returncode != 0:
        raise CommandError(f"command failed (exit {cp.returncode}): {' '.join(argv)}\n"
                           f"stdout: {cp.stdout.strip()}\nstderr: {cp.stderr.strip()}")
    return cp


def fast_path_args(extra: Sequence[str]) -> list[str]:
    """--fast-path as $M6T_FAST_PATH says (auto, on, off), unless a test chose itself: the
    test command runs the suite with it on and again with it off."""
    mode = os.environ.get("M6T_FAST_PATH")
    if not mode or any(a.startswith("--fast-path") for a in extra):
        return []
    return ["--fast-path", mode]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    out = text.splitlines()[-lines:]
    return "\n".join(out)


def wait_until(cond: Callable[[], Any], timeout: float, *, interval: float = 0.1,
               what: str = "condition", logs: Callable[[], str] | None = None) -> Any:
    """Polls ``cond`` until it returns a truthy value (returned).  Exceptions raised by ``cond``
    count as "not yet".  On timeout raises WaitTimeout with the last value/error and ``logs()``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = cond()
            if value:
                return value
            last, last_exc = value, None
        except (KeyboardInterrupt, SystemExit, DaemonExited):
            raise
        except Exception as e:  # noqa: BLE001 - "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout:.1f}s waiting for {what}"
            msg += f"\nlast error: {last_exc!r}" if last_exc else f"\nlast value: {last!r}"
            if logs:
                msg += "\n" + logs()
            raise WaitTimeout(msg)
        time.sleep(interval)


@dataclasses.dataclass
class PingResult:
    transmitted: int
    received: int
    output: str
    returncode: int

    @property
    def ok(self) -> bool:
        return self.received > 0

    @property
    def all_ok(self) -> bool:
        return self.transmitted > 0 and self.received == self.transmitted

    @property
    def loss(self) -> float:
        return 1.0 if self.transmitted == 0 else 1 - self.received / self.transmitted

    def __bool__(self) -> bool:
        return self.ok


_PING_RE = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


class Process:
    """A long-running process started inside a namespace (``ip netns exec`` execs, so the
    Popen pid is the program's own pid).  stdout and stderr go to ``log``."""

    def __init__(self, ns: "Namespace", name: str, argv: Sequence[str], log: Path,
                 env: dict | None = None):
        self.ns, self.name, self.argv, self.log = ns, name, [str(a) for a in argv], Path(log)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._logf = open(self.log, "ab", buffering=0)
        self._logf.write(f"# {ns.name}: {' '.join(self.argv)}\n".encode())
        self.popen = subprocess.Popen([IP, "netns", "exec", ns.name, *self.argv],
                                      stdin=subprocess.DEVNULL, stdout=self._logf,
                                      stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.started = time.monotonic()
        self.returncode: int | None = None
        self.stop_requested = False  # set by stop(): an exit after that is not a crash

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int:
        """SIGTERM (or ``sig``), then SIGKILL after ``timeout``; returns the exit status
        (negative: killed by that signal)."""
        if self.popen.poll() is None:
            self.stop_requested = True
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._logf.write(f"# harness: no exit {timeout}s after signal {int(sig)}, "
                                 f"sending SIGKILL\n".encode())
                try:
                    os.kill(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(10)
        self.returncode = self.popen.returncode
        if not self._logf.closed:
            self._logf.write(f"# harness: exited with status {self.returncode}\n".encode())
            self._logf.close()
        return self.returncode

    def signal(self, sig: int) -> None:
        """Sends `sig` without waiting (a test's deliberate kill or stop: not a crash)."""
        self.stop_requested = True
        os.kill(self.popen.pid, sig)

    def read_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        return f"----- {self.name} in {self.ns.name} (pid {self.pid}, {state}): {self.log} " \
               f"-----\n{tail(self.log, lines)}"


class Daemon(Process):
    """An m6t gateway or client with its control socket."""

    def __init__(self, ns: "Namespace", name: str, m6t_bin: Path, role: str, args: Sequence[str],
                 control: Path, log: Path, tun: str):
        self.m6t_bin, self.role, self.control, self.tun = Path(m6t_bin), role, Path(control), tun
        super().__init__(ns, name, [str(m6t_bin), role, *args, "--control", str(control)], log)

    def show_json(self, timeout: float = 5) -> dict:
        cp = self.ns.run([self.m6t_bin, "show", "--json", "--control", self.control],
                         timeout=timeout)
        try:
            docs = json.loads(cp.stdout)
        except json.JSONDecodeError as e:
            raise CommandError(f"m6t show --json: not JSON ({e}): {cp.stdout[:500]!r}") from e
        # Always a list of daemons (docs/show.md); --control names one.
        if not isinstance(docs, list) or len(docs) != 1:
            raise CommandError(f"m6t show --json --control: not a list of one: {cp.stdout[:500]!r}")
        return docs[0]

    def show_text(self, timeout: float = 5) -> str:
        return self.ns.run([self.m6t_bin, "show", "--control", self.control],
                           timeout=timeout).stdout

    def crashed(self) -> bool:
        """Exited although nobody asked it to."""
        return self.popen.poll() is not None and not self.stop_requested

    def check_alive(self) -> None:
        if not self.alive():
            raise DaemonExited(f"{self.name} exited with status {self.popen.returncode}\n"
                                 + self.log_tail())


class Namespace:
    def __init__(self, topo: "Topology", role: str, name: str):
        self.topo, self.role, self.name = topo, role, name

    def __repr__(self) -> str:
        return f"Namespace({self.name})"

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 30,
            input: str | None = None) -> subprocess.CompletedProcess:
        return sh([IP, "netns", "exec", self.name, *argv], check=check, timeout=timeout,
                  input=input)

    def out(self, argv: Sequence[str], **kw) -> str:
        return self.run(argv, **kw).stdout

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh([IP, "-n", self.name, *args], check=check)

    def sysctl(self, *settings: str, ignore_missing: bool = False) -> None:
        argv = [SYSCTL, "-q", "-w"]
        if ignore_missing:
            argv.insert(1, "-e")
        self.run([*argv, *settings])

    def nft(self, script: str) -> None:
        self.run([NFT, "-f", "-"], input=script)

    def spawn(self, name: str, argv: Sequence[str], log: Path | None = None) -> Process:
        return self.topo._register(Process(self, name, argv, log or self.topo.log_path(name)))

    def pids(self) -> list[int]:
        cp = sh([IP, "netns", "pids", self.name], check=False)
        return [int(x) for x in cp.stdout.split() if x.isdigit()]

    # --- probes ------------------------------------------------------------------------------
    def ping(self, addr: str, count: int = 3, *, wait_s: float = 1, interval: float = 0.2,
             family: int = 6, source: str | None = None, size: int | None = None) -> PingResult:
        argv = [PING, f"-{family}", "-n", "-q", "-c", str(count), "-W", str(wait_s), "-i",
                str(interval)]
        if source:
            argv += ["-I", source]
        if size is not None:
            argv += ["-s", str(size)]
        argv.append(addr)
        cp = self.run(argv, check=False, timeout=count * (interval + wait_s) + 10)
        m = _PING_RE.search(cp.stdout)
        tx, rx = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        return PingResult(tx, rx, (cp.stdout + cp.stderr).strip(), cp.returncode)

    def ping6(self, addr: str, count: int = 3, **kw) -> PingResult:
        return self.ping(addr, count, family=6, **kw)

    def ping4(self, addr: str, count: int = 3, **kw) -> PingResult:
        return self.ping(addr, count, family=4, **kw)

    def wait_ping6(self, addr: str, timeout: float = 10, **kw) -> PingResult:
        """Pings once a second (each ping waits 1 s) until one answer comes back."""
        return wait_until(lambda: self.ping6(addr, 1, **kw), timeout,
                          what=f"ping6 {addr} from {self.role} ({self.name})",
                          logs=self.topo.logs, interval=0.2)

    def addrs6(self) -> str:
        return self.out([IP, "-6", "addr", "show"])

    def routes6(self, table: str = "main") -> str:
        return self.out([IP, "-6", "route", "show", "table", table])

    def links(self) -> list[str]:
        data = json.loads(self.out([IP, "-j", "link", "show"]))
        return sorted(d["ifname"] for d in data)

    def has_link(self, name: str) -> bool:
        return self.run([IP, "link", "show", "dev", name], check=False).returncode == 0

    def snapshot(self) -> dict:
        """Addresses, routes and links: what a daemon must leave as it found it."""
        addrs = json.loads(self.out([IP, "-j", "addr", "show"]))
        addr_set = sorted(f"{d['ifname']} {a['local']}/{a['prefixlen']}"
                          for d in addrs for a in d.get("addr_info", []))
        routes = []
        for fam in ("-4", "-6"):
            for line in self.out([IP, fam, "route", "show", "table", "all"]).splitlines():
                if " cache" in line or line.startswith("cache"):
                    continue
                routes.append(line.strip())
        return {"links": self.links(), "addrs": addr_set, "routes": sorted(routes)}

    def udp_send(self, dst: str, port: int, payload: bytes = b"m6t-test", *,
                 src_port: int | None = None) -> None:
        """Sends one UDP datagram (IPv4 or IPv6 destination)."""
        fam = "AF_INET6" if ":" in dst else "AF_INET"
        bind = f"s.bind(('', {src_port}));" if src_port else ""
        code = (f"import socket;s=socket.socket(socket.{fam},socket.SOCK_DGRAM);{bind}"
                f"s.sendto({payload!r},({dst!r},{port}))")
        self.run([PYTHON, "-c", code], timeout=10)


class Topology:
    """MN(s) -- NAT -- GW -- HA in network namespaces.  Use as a context manager or call
    ``build()`` / ``teardown()``."""

    def __init__(self, workdir: str | Path | None = None, *, m6t_bin: str | Path | None = None,
                 n_mns: int = 1, second_uplink: bool = False, colocated: bool = False,
                 ula: str = ULA_PREFIX, label: str = "", attacker: bool = False,
                 narrow_mtu: int | None = None, wide_mn: bool = False, bridges: bool = True):
        if not 1 <= n_mns <= 2:
            raise ValueError("n_mns must be 1 or 2")
        if not bridges and (n_mns > 1 or second_uplink or attacker or narrow_mtu or wide_mn):
            raise ValueError("bridges=False is the plain MN - NAT - GW - HA line only")
        self.bridges = bridges
        self.id = f"m6t{os.getpid()}-{next(_counter)}"
        self.label = label or self.id
        self.m6t_bin = Path(m6t_bin) if m6t_bin else default_m6t_bin()
        self.n_mns, self.second_uplink, self.colocated = n_mns, second_uplink, colocated
        self.attacker = attacker
        self.atk: Namespace | None = None
        self.ula = ula
        self.narrow_mtu, self.wide_mn = narrow_mtu, wide_mn
        # The NAT's outside address as the GW sees it.
        self.nat_out = NARROW_NAT_OUT if narrow_mtu else NAT_OUT
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to 107 bytes: keep control sockets in a short dir.
        self.rundir = Path(tempfile.mkdtemp(prefix=f"{self.id}-run-", dir="/tmp"))
        self.namespaces: list[Namespace] = []
        self.processes: list[Process] = []
        self.mns: list[Namespace] = []
        self.mn_addr: dict[str, str] = {}
        self.nat = self.nat2 = self.gw = self.ha = None  # type: ignore[assignment]
        self.rtr = self.wide = None  # type: ignore[assignment]
        self.built = False
        self.torn_down = False
        self._teardown_lock = threading.Lock()
        with _live_lock:
            _live.add(self)

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "Topology":
        self.build()
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()

    def _ns(self, role: str) -> Namespace:
        ns = Namespace(self, role, f"{self.id}-{role}")
        sh([IP, "netns", "add", ns.name])
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        # No DAD delay, no router solicitations (they would refresh NAT mappings on the MN).
        ns.sysctl("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                  "net.ipv6.conf.all.router_solicitations=0",
                  "net.ipv6.conf.default.router_solicitations=0",
                  "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0")
        return ns

    @staticmethod
    def _veth(a: Namespace, a_if: str, b: Namespace, b_if: str) -> None:
        sh([IP, "link", "add", a_if, "netns", a.name, "type", "veth", "peer", "name", b_if,
            "netns", b.name])

    @staticmethod
    def _bridge(ns: Namespace, name: str) -> None:
        ns.ip("link", "add", name, "type", "bridge")
        # Bridged IPv4 must not traverse netfilter twice (br_netfilter is loaded on some hosts).
        ns.sysctl("net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
                  "net.bridge.bridge-nf-call-arptables=0", ignore_missing=True)

    def build(self) -> "Topology":
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise
        self.built = True
        return self

    def _build(self) -> None:
        self.mns = [self._ns("mn" if i == 0 else f"mn{i + 1}") for i in range(self.n_mns)]
        self.nat = self._ns("nat")
        self.gw = self._ns("gw")
        self.ha = self.gw if self.colocated else self._ns("ha")
        if self.second_uplink:
            self.nat2 = self._ns("nat2")
        if self.narrow_mtu:
            self.rtr = self._ns("rtr")
        if self.wide_mn:
            self.wide = self._ns("mnw")

        nat, gw, ha = self.nat, self.gw, self.ha
        # NAT: IPv4-only router, inside bridge lan0, outside wan0, masquerade on wan0.
        nat.sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1")
        if self.bridges:
            self._bridge(nat, "lan0")
        else:
            self._veth(self.mns[0], "eth0", nat, "lan0")
        nat.ip("addr", "add", f"{NAT_IN}/24", "dev", "lan0")
        nat.ip("link", "set", "lan0", "up")
        # GW: outside bridge wan0 (IPv4 only), home side IPv6, forwarding on.
        gw.sysctl("net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1")
        if self.bridges:
            self._bridge(gw, "wan0")
        else:
            self._veth(nat, "wan0", gw, "wan0")
        gw.sysctl("net.ipv6.conf.wan0.disable_ipv6=1")
        gw.ip("addr", "add", f"{GW_OUT}/24", "dev", "wan0")
        gw.ip("link", "set", "wan0", "up")

        if self.narrow_mtu:
            self._build_narrow_path()
        elif not self.bridges:
            nat.ip("addr", "add", f"{NAT_OUT}/24", "dev", "wan0")
            nat.ip("link", "set", "wan0", "up")
        else:
            self._veth(nat, "wan0", gw, "nat1")
            nat.ip("addr", "add", f"{NAT_OUT}/24", "dev", "wan0")
            nat.ip("link", "set", "wan0", "up")
            gw.sysctl("net.ipv6.conf.nat1.disable_ipv6=1")
            gw.ip("link", "set", "nat1", "master", "wan0")
            gw.ip("link", "set", "nat1", "up")
        if self.wide_mn:
            self._veth(self.wide, "eth0", gw, "wide1")
            self.wide.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
            self.wide.ip("addr", "add", f"{WIDE_MN_ADDR}/24", "dev", "eth0")
            self.wide.ip("link", "set", "eth0", "up")
            self.wide.ip("route", "add", "default", "via", GW_OUT, "dev", "eth0")
            gw.sysctl("net.ipv6.conf.wide1.disable_ipv6=1")
            gw.ip("link", "set", "wide1", "master", "wan0")
            gw.ip("link", "set", "wide1", "up")
            self.mn_addr[self.wide.name] = WIDE_MN_ADDR
        nat.nft(NAT_RULESET)

        for i, mn in enumerate(self.mns):
            if self.bridges:
                port = f"mn{i + 1}"
                self._veth(mn, "eth0", nat, port)
                nat.ip("link", "set", port, "master", "lan0")
                nat.ip("link", "set", port, "up")
            # The MN is IPv4-only: no IPv6 on its uplink, so no IPv6 route but the TUN's.
            mn.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
            addr = MN_ADDRS[i]
            mn.ip("addr", "add", f"{addr}/24", "dev", "eth0")
            mn.ip("link", "set", "eth0", "up")
            mn.ip("route", "add", "default", "via", NAT_IN, "dev", "eth0")
            self.mn_addr[mn.name] = addr

        if self.second_uplink:
            nat2, mn = self.nat2, self.mns[0]
            nat2.sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1")
            self._veth(mn, "eth1", nat2, "lan0")
            mn.sysctl("net.ipv6.conf.eth1.disable_ipv6=1")
            mn.ip("addr", "add", f"{MN_UPLINK2}/24", "dev", "eth1")
            mn.ip("link", "set", "eth1", "up")
            # A second default route, less preferred than the one through eth0.
            mn.ip("route", "add", "default", "via", NAT2_IN, "dev", "eth1", "metric", "200")
            nat2.ip("addr", "add", f"{NAT2_IN}/24", "dev", "lan0")
            nat2.ip("link", "set", "lan0", "up")
            self._veth(nat2, "wan0", gw, "nat2")
            nat2.ip("addr", "add", f"{NAT2_OUT}/24", "dev", "wan0")
            nat2.ip("link", "set", "wan0", "up")
            gw.sysctl("net.ipv6.conf.nat2.disable_ipv6=1")
            gw.ip("link", "set", "nat2", "master", "wan0")
            gw.ip("link", "set", "nat2", "up")
            nat2.nft(NAT_MASQUERADE)

        if self.attacker:
            self._build_attacker()

        if self.colocated:
            gw.ip("-6", "addr", "add", f"{HA_ADDR}/128", "dev", "lo")
        else:
            self._veth(gw, "home0", ha, "home0")
            gw.ip("-6", "addr", "add", f"{GW_HOME}/64", "dev", "home0")
            gw.ip("link", "set", "home0", "up")
            ha.ip("-6", "addr", "add", f"{HA_ADDR}/64", "dev", "home0")
            ha.ip("link", "set", "home0", "up")
            ha.ip("-6", "route", "add", self.ula, "via", GW_HOME, "dev", "home0")
        self._wait_links_up()

    def _build_attacker(self) -> None:
        atk, gw = self._ns("atk"), self.gw
        self.atk = atk
        self._veth(atk, "eth0", gw, "atk1")
        atk.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
        atk.ip("addr", "add", f"{ATTACKER}/24", "dev", "eth0")
        atk.ip("link", "set", "eth0", "up")
        gw.sysctl("net.ipv6.conf.atk1.disable_ipv6=1")
        gw.ip("link", "set", "atk1", "master", "wan0")
        gw.ip("link", "set", "atk1", "up")
        gw.ip("route", "add", ATTACKER_SPOOF, "via", ATTACKER)
        # Counted before routing: packets to the spoofed range are not the attacker's own
        # addresses and would be dropped by its stack (no forwarding) after being counted.
        atk.nft(f"""
table ip m6tatk {{
  counter to_gw {{ }}
  counter from_gw_udp {{ }}
  counter from_gw_all {{ }}
  chain prerouting {{
    type filter hook prerouting priority raw; policy accept;
    ip saddr {GW_OUT} ip protocol udp counter name "from_gw_udp"
    ip saddr {GW_OUT} counter name "from_gw_all"
    ip daddr {ATTACKER_SPOOF} drop
  }}
  chain output {{
    type filter hook output priority raw; policy accept;
    ip daddr {GW_OUT} counter name "to_gw"
  }}
}}
""")

    def attacker_counters(self) -> dict:
        """{"to_gw": {"packets", "bytes"}, "from_gw_udp": ..., "from_gw_all": ...} counted in
        the attacker namespace (IPv4 packets and bytes, headers included)."""
        data = json.loads(self.atk.out([NFT, "-j", "list", "counters", "table", "ip", "m6tatk"]))
        out = {}
        for item in data.get("nftables", []):
            c = item.get("counter")
            if c:
                out[c["name"]] = {"packets": c["packets"], "bytes": c["bytes"]}
        return out

    def _build_narrow_path(self) -> None:
        """NAT --(narrow_mtu)-- RTR -- GW, see the module docstring."""
        nat, rtr, gw, mtu = self.nat, self.rtr, self.gw, str(self.narrow_mtu)
        rtr.sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1")
        self._veth(nat, "wan0", rtr, "in0")
        nat.ip("link", "set", "wan0", "mtu", mtu)
        rtr.ip("link", "set", "in0", "mtu", mtu)
        nat.ip("addr", "add", f"{NARROW_NAT_OUT}/24", "dev", "wan0")
        nat.ip("link", "set", "wan0", "up")
        rtr.ip("addr", "add", f"{RTR_IN}/24", "dev", "in0")
        rtr.ip("link", "set", "in0", "up")
        nat.ip("route", "add", "default", "via", RTR_IN, "dev", "wan0")
        self._veth(rtr, "out0", gw, "rtr1")
        rtr.ip("addr", "add", f"{RTR_OUT}/24", "dev", "out0")
        rtr.ip("link", "set", "out0", "up")
        gw.sysctl("net.ipv6.conf.rtr1.disable_ipv6=1")
        gw.ip("link", "set", "rtr1", "master", "wan0")
        gw.ip("link", "set", "rtr1", "up")
        gw.ip("route", "add", "198.18.0.0/24", "via", RTR_OUT, "dev", "wan0")
        # Counts the IPv4 fragments crossing the narrow link, per direction ("fragmented
        # outside"), where they arrive and before anything reassembles them: at RTR's in0 (from
        # the NAT) and at the NAT's wan0 (from RTR; the NAT's conntrack reassembles later).
        frag_counter = """
table netdev m6tfrag {{
  chain ingress {{
    type filter hook ingress device "{dev}" priority 0; policy accept;
    ip frag-off & 0x3fff != 0 counter comment "fragments"
  }}
}}
"""
        rtr.nft(frag_counter.format(dev="in0"))
        nat.nft(frag_counter.format(dev="wan0"))

    def forwarded_fragments(self) -> dict:
        """IPv4 fragments that crossed the narrow link so far: {"to_mn": n, "to_gw": n}."""
        def count(ns: Namespace) -> int:
            out = ns.out([NFT, "list", "chain", "netdev", "m6tfrag", "ingress"])
            m = re.search(r"counter packets (\d+)", out)
            return int(m.group(1)) if m else 0
        return {"to_gw": count(self.rtr), "to_mn": count(self.nat)}

    def _wait_links_up(self, timeout: float = 10) -> None:
        """Until the kernel's link watcher has brought every interface up (packets sent
        before that are dropped by the noop qdisc)."""
        def down() -> list[str]:
            bad = []
            for ns in self.namespaces:
                for d in json.loads(ns.out([IP, "-j", "link", "show"])):
                    if d["ifname"] != "lo" and d.get("operstate") != "UP":
                        bad.append(f"{ns.role}:{d['ifname']}={d.get('operstate')}")
            return bad
        wait_until(lambda: not down(), timeout, interval=0.05,
                   what="all interfaces operationally up", logs=lambda: f"down: {down()}")

    def teardown(self) -> None:
        with self._teardown_lock:
            if self.torn_down:
                return
            self.torn_down = True
            for p in reversed(self.processes):
                try:
                    p.stop(timeout=3)
                except Exception:  # noqa: BLE001 - keep tearing down
                    pass
            # Anything still inside our namespaces was started by us: end it by PID.
            for ns in self.namespaces:
                for pid in ns.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            for ns in self.namespaces:
                sh([IP, "netns", "del", ns.name], check=False)
            shutil.rmtree(self.rundir, ignore_errors=True)
            if self._own_workdir and os.environ.get("M6T_KEEP_LOGS") != "1":
                shutil.rmtree(self.workdir, ignore_errors=True)
            with _live_lock:
                _live.discard(self)

    # --- processes and logs --------------------------------------------------------------------
    def _register(self, p: Process) -> Any:
        self.processes.append(p)
        return p

    def log_path(self, name: str) -> Path:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        path = self.workdir / f"{base}.log"
        n = 2
        while path.exists():
            path = self.workdir / f"{base}-{n}.log"
            n += 1
        return path

    def logs(self, lines: int = 60) -> str:
        if not self.processes:
            return "(no processes were started)"
        return "\n".join(p.log_tail(lines) for p in self.processes)

    def wait_until(self, cond: Callable[[], Any], timeout: float, what: str,
                   interval: float = 0.1) -> Any:
        return wait_until(cond, timeout, interval=interval, what=what, logs=self.logs)

    # --- NAT knobs -----------------------------------------------------------------------------
    def set_nat_udp_timeouts(self, timeout_s: int, stream_s: int | None = None,
                             nat: Namespace | None = None) -> None:
        (nat or self.nat).sysctl(f"net.netfilter.nf_conntrack_udp_timeout={timeout_s}",
                                 f"net.netfilter.nf_conntrack_udp_timeout_stream="
                                 f"{stream_s if stream_s is not None else timeout_s}")

    def block_udp_to_gw(self, port: int, dst: str = GW_OUT) -> None:
        """The NAT router drops UDP from inside to dst:port (a filtered foreign network)."""
        self.nat.run([NFT, "add", "rule", "ip", "m6tfilter", "forward", "ip", "daddr", dst,
                      "udp", "dport", str(port), "counter", "drop"])

    def unblock_all(self) -> None:
        self.nat.run([NFT, "flush", "chain", "ip", "m6tfilter", "forward"])

    def blocked_packets(self) -> int:
        """Packets dropped so far by block_udp_to_gw rules."""
        out = self.nat.out([NFT, "list", "chain", "ip", "m6tfilter", "forward"])
        return sum(int(m) for m in re.findall(r"counter packets (\d+)", out))

    def conntrack_udp(self, nat: Namespace | None = None) -> str:
        cp = (nat or self.nat).run([CONNTRACK, "-L", "-p", "udp"], check=False)
        return cp.stdout

    def change_mn_ipv4(self, new_addr: str | None = None, mn: Namespace | None = None) -> str:
        """Moves the MN to a new IPv4 address on the same LAN (a new point of attachment)."""
        mn = mn or self.mns[0]
        old = self.mn_addr[mn.name]
        if new_addr is None:
            used = set(self.mn_addr.values())
            new_addr = next(a for a in MN_ADDRS if a not in used)
        mn.ip("addr", "del", f"{old}/24", "dev", "eth0")
        mn.ip("addr", "add", f"{new_addr}/24", "dev", "eth0")
        mn.ip("route", "replace", "default", "via", NAT_IN, "dev", "eth0")
        self.mn_addr[mn.name] = new_addr
        return new_addr

    def ha_silence(self, on: bool = True) -> None:
        """The HA sends nothing towards the MN prefix (nft output drop) while ``on``."""
        if on:
            self.ha.nft(f"""
table ip6 m6tsilence {{
  chain output {{
    type filter hook output priority filter; policy accept;
    ip6 daddr {self.ula} counter drop
  }}
}}
""")
        else:
            self.ha.run([NFT, "delete", "table", "ip6", "m6tsilence"], check=False)

    # --- m6t daemons ---------------------------------------------------------------------------
    @property
    def mn(self) -> Namespace:
        return self.mns[0]

    def check_binary(self) -> None:
        if not (self.m6t_bin.is_file() and os.access(self.m6t_bin, os.X_OK)):
            raise FileNotFoundError(f"m6t binary not found or not executable: {self.m6t_bin} "
                                    f"(build it: cmake -S . -B build -G Ninja && ninja -C build "
                                    f"m6t, or set M6T_BIN)")

    def start_gateway(self, *, listen: Iterable[str] = (f"{GW_OUT}:{GW_PORT}",),
                      home_agents: Iterable[str] = (HA_ADDR,), prefix: str | None = None,
                      tun: str = "m6tgw0", extra: Sequence[str] = (), wait: bool = True,
                      name: str = "gateway") -> Daemon:
        self.check_binary()
        args: list[str] = []
        for l in listen:
            args += ["--listen", l]
        args += ["--prefix", prefix or self.ula]
        for h in home_agents:
            args += ["--home-agent", h]
        args += ["--tun", tun, *fast_path_args(extra), *extra]
        if "--state-dir" not in extra:
            # Per instance (namespaces share the file system): a gateway of another test must
            # never restore this one's states. The same name restarts with the same states.
            args += ["--state-dir", str(self.state_dir(name))]
        d = self._register(Daemon(self.gw, name, self.m6t_bin, "gateway", args,
                                  self.rundir / f"{name}.sock", self.log_path(name), tun))
        if wait:
            self.wait_gateway_ready(d)
        return d

    def wait_gateway_ready(self, d: Daemon, timeout: float = 10) -> dict:
        def ready():
            d.check_alive()
            return d.ns.has_link(d.tun) and d.show_json()
        return self.wait_until(ready, timeout, f"gateway ready (TUN {d.tun} and control socket)")

    def start_client(self, *, mn: Namespace | None = None, mn_id: int = 1, subnet: int = 0,
                     gateways: Iterable[str] = (f"{GW_OUT}:{GW_PORT}",), tun: str = "m6t0",
                     extra: Sequence[str] = (), wait: bool = True, name: str | None = None
                     ) -> Daemon:
        self.check_binary()
        mn = mn or self.mn
        name = name or f"client-{mn.role}"
        args: list[str] = []
        for g in gateways:
            args += ["--gateway", g]
        args += ["--prefix", mn_prefix80(self.ula, subnet, mn_id), "--tun", tun,
                 *fast_path_args(extra), *extra]
        if "--claims-dir" not in extra:  # the clients of one topology share one (section 2.5)
            args += ["--claims-dir", str(self.claims_dir)]
        d = self._register(Daemon(mn, name, self.m6t_bin, "client", args,
                                  self.rundir / f"{name}.sock", self.log_path(name), tun))
        d.prefix80 = mn_prefix80(self.ula, subnet, mn_id)  # type: ignore[attr-defined]
        if wait:
            self.wait_client_address(d)
        return d

    def state_dir(self, gateway_name: str = "gateway") -> Path:
        return self.rundir / f"state-{gateway_name}"

    @property
    def claims_dir(self) -> Path:
        return self.rundir / "claims"

    def client_address(self, d: Daemon) -> str | None:
        """The client's tunnel address, once it is in show --json AND on its TUN device."""
        d.check_alive()
        addr = d.show_json().get("address")
        if not addr:
            return None
        data = json.loads(d.ns.out([IP, "-j", "-6", "addr", "show", "dev", d.tun]))
        on_tun = {a["local"] for i in data for a in i.get("addr_info", [])}
        norm = ipaddress.IPv6Address(addr)
        return str(norm) if any(ipaddress.IPv6Address(a) == norm for a in on_tun) else None

    def wait_client_address(self, d: Daemon, timeout: float = 10,
                            different_from: str | None = None) -> str:
        def cond():
            a = self.client_address(d)
            return a if a and a != different_from else None
        what = f"client {d.name} tunnel address on {d.tun}"
        if different_from:
            what += f" other than {different_from}"
        return self.wait_until(cond, timeout, what)

    def daemons(self) -> list[Daemon]:
        return [p for p in self.processes if isinstance(p, Daemon)]

    def establish(self, client: Daemon, timeout: float = 15) -> str:
        """Waits for the client's tunnel address, then pings the HA from the MN until it
        answers (which makes the gateway's state active).  Returns the tunnel address."""
        addr = self.wait_client_address(client, timeout)
        self.wait_until(lambda: client.ns.ping6(HA_ADDR, 1).ok, timeout,
                        f"ping6 {HA_ADDR} from {client.ns.role} through the tunnel",
                        interval=0.2)
        return addr

    @staticmethod
    def gw_state(gw_show: dict, mn_addr: str) -> dict | None:
        want = ipaddress.IPv6Address(mn_addr)
        for s in gw_show.get("states", []):
            if ipaddress.IPv6Address(s["mn"]) == want:
                return s
        return None

    # --- TCP transfer --------------------------------------------------------------------------
    def tcp_transfer(self, src: Namespace, dst: Namespace, dst_addr: str, nbytes: int, *,
                     port: int = 5001, listen: str | None = None, timeout: float = 60,
                     name: str = "tcpxfer") -> dict:
        """Sends ``nbytes`` random bytes over TCP from ``src`` to ``dst_addr`` (an address of
        ``dst``).  Returns {"sent": {...}, "received": {...}, "ok": bool, "seconds": float,
        "mbit_s": float}; ok means byte counts and sha256 agree."""
        if listen is None:
            listen = "::" if ":" in dst_addr else "0.0.0.0"
        tag = f"{name}-{next(_counter)}"
        ready = self.rundir / f"{tag}.ready"
        result = self.rundir / f"{tag}.json"
        recv = dst.spawn(f"{tag}-recv", [PYTHON, TCPXFER, "recv", "--listen", listen, "--port",
                                         str(port), "--ready-file", ready, "--result-file",
                                         result, "--timeout", str(timeout)])
        try:
            self.wait_until(lambda: ready.exists() or recv.poll() is not None, 10,
                            f"TCP receiver listening in {dst.name}")
            if not ready.exists():
                raise AssertionError("TCP receiver exited early\n" + recv.log_tail())
            cp = src.run([PYTHON, TCPXFER, "send", "--to", dst_addr, "--port", str(port),
                          "--bytes", str(nbytes), "--timeout", str(timeout)],
                         check=False, timeout=timeout + 15)
            if cp.returncode != 0:
                raise AssertionError(f"TCP sender failed (exit {cp.returncode}): "
                                     f"{cp.stderr.strip()}\n{recv.log_tail()}\n{self.logs()}")
            sent = json.loads(cp.stdout.strip().splitlines()[-1])
            try:
                recv.wait(timeout=15)
            except subprocess.TimeoutExpired:
                recv.stop(timeout=2)
            if not result.exists():
                raise AssertionError("TCP receiver wrote no result\n" + recv.log_tail())
            received = json.loads(result.read_text())
        finally:
            recv.stop(timeout=2)
        ok = sent["bytes"] == received["bytes"] == nbytes and sent["sha256"] == received["sha256"]
        secs = sent["seconds"]
        return {"sent": sent, "received": received, "ok": ok, "seconds": secs,
                "mbit_s": nbytes * 8 / 1e6 / secs if secs > 0 else float("inf")}


class Sniffer:
    """sniff6.py on one interface of a namespace, until stop()."""

    def __init__(self, topo: "Topology", ns: "Namespace", iface: str, name: str,
                 min_len: int = 1281, udp: bool = False, hexdump: bool = False):
        self.path = topo.rundir / f"{name}.jsonl"
        ready = topo.rundir / f"{name}.ready"
        self.proc = ns.spawn(name, [PYTHON, SNIFF6, "--iface", iface, "--out", self.path,
                                    "--min-len", str(min_len), "--ready-file", ready,
                                    *(["--udp"] if udp else []),
                                    *(["--hex"] if hexdump else [])])
        topo.wait_until(lambda: ready.exists() or self.proc.poll() is not None, 10,
                        f"sniffer on {iface} in {ns.name}")
        assert ready.exists(), self.proc.log_tail()

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def ptbs(self) -> list[dict]:
        return [r for r in self.records() if "ptb_mtu" in r]

    def stop(self) -> None:
        self.proc.stop(timeout=3)


def cleanup_stale(verbose: bool = True) -> list[str]:
    """Deletes namespaces left by earlier harness runs that died (named m6t<pid>-..., with that
    pid gone), ending by PID the processes those runs had started inside them."""
    cp = sh([IP, "netns", "list"], check=False)
    removed = []
    for line in cp.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^m6t(\d+)-\d+-", name)
        if not m or pid_alive(int(m.group(1))):
            continue
        pids = sh([IP, "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh([IP, "netns", "del", name], check=False)
        removed.append(name)
    if removed and verbose:
        print(f"m6t harness: removed {len(removed)} stale namespace(s): {' '.join(removed)}")
    return removed


@atexit.register
def _teardown_all() -> None:
    with _live_lock:
        live = list(_live)
    for t in live:
        try:
            t.teardown()
        except Exception:  # noqa: BLE001
            pass
