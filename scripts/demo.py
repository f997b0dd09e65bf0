#!/usr/bin/python3
"""m6t demo: a Mobile IPv6 node behind an IPv4-only NAT reaches its home agent over IPv6.

    sudo /usr/bin/python3 scripts/demo.py [--m6t PATH] [--mb N]

Builds four network namespaces (MN -- NAT -- GW -- HA, see tests/integration/topology.py),
starts `m6t gateway` on GW and `m6t client` on MN, then shows ping6 both ways, a TCP transfer
through the tunnel and `m6t show` of both daemons.  Everything it created is removed at the end:
on success, on failure and on Ctrl-C / SIGTERM.  Exit status 0 only if every step succeeded.
Needs root (network namespaces, nftables) and Debian's /usr/bin/python3.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

import topology as T  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
GREEN = "\033[32m" if sys.stdout.isatty() else ""
RED = "\033[31m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""

DIAGRAM = f"""
   MN (mobile node)          NAT router                GW (tunnel gateway)       HA (home agent)
   IPv4 only                 masquerade                                          IPv6 only
  +--------------+   IPv4  +-------------+   IPv4    +-----------------+  IPv6  +----------------+
  | {T.MN_ADDRS[0]:<12} |---------| {T.NAT_IN:<11} |           |                 |--------| {T.HA_ADDR:<14} |
  | m6t client   |         | {T.NAT_OUT:<11} |-----------| {T.GW_OUT:<15} |        |                |
  | TUN m6t0     |         +-------------+           | {T.GW_HOME:<15} |        +----------------+
  +--------------+                                   | m6t gateway     |
                                                     | TUN m6tgw0      |
                                                     +-----------------+
  The MN has no IPv6 at all.  The client gives it an IPv6 address from the /80
  {T.mn_prefix80()} and sends its IPv6 packets, inside UDP/IPv4, to the gateway at
  {T.GW_OUT}:{T.GW_PORT}; the NAT rewrites their source.  The gateway unwraps them towards the
  HA and wraps the HA's answers back to the NAT's address and port.  The HA routes the tunnel
  prefix {T.ULA_PREFIX} to the gateway.
"""


class Interrupted(BaseException):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def on_signal(signum, frame):
    raise Interrupted(signum)


class Demo:
    def __init__(self, m6t: Path, mb: int):
        self.m6t, self.mb = m6t, mb
        self.topo: T.Topology | None = None
        self.gw = self.cl = None
        self.addr: str | None = None
        self.results: list[tuple[str, bool]] = []
        self.n = 0

    # --- presentation ----------------------------------------------------------------------------
    def heading(self, title: str, explain: str) -> None:
        self.n += 1
        print(f"\n{BOLD}== {self.n}. {title} =={RESET}")
        for line in explain.strip().splitlines():
            print(f"   {line.strip()}")
        print()

    @staticmethod
    def show_cmd(ns: T.Namespace, argv) -> None:
        print(f"   [{ns.role}] $ {' '.join(shlex.quote(str(a)) for a in argv)}")

    @staticmethod
    def indent(text: str) -> str:
        return "\n".join("     " + line for line in text.rstrip().splitlines())

    def step(self, title: str, explain: str, fn, essential: bool = False) -> bool:
        self.heading(title, explain)
        t0 = time.monotonic()
        try:
            fn()
            ok = True
        except Interrupted:
            raise
        except Exception as e:  # noqa: BLE001 - report and go on
            ok = False
            print(f"   {RED}FAILED: {e}{RESET}")
            if not isinstance(e, (AssertionError, T.CommandError)):
                traceback.print_exc()
            if self.topo and self.topo.processes and "-----" not in str(e):
                print(self.indent(self.topo.logs(lines=20)))
        mark = f"{GREEN}ok{RESET}" if ok else f"{RED}FAILED{RESET}"
        print(f"   -> {mark} ({time.monotonic() - t0:.1f}s)")
        self.results.append((title, ok))
        if not ok and essential:
            raise RuntimeError(f"step '{title}' failed; the remaining steps need it")
        return ok

    # --- steps -------------------------------------------------------------------------------
    def build(self) -> None:
        print(DIAGRAM)
        self.topo = T.Topology(m6t_bin=self.m6t, label="demo")
        self.topo.build()
        names = ", ".join(f"{ns.role}={ns.name}" for ns in self.topo.namespaces)
        print(f"   namespaces: {names}")
        r = self.topo.mn.ping4(T.GW_OUT, 1)
        assert r.ok, f"MN cannot reach {T.GW_OUT} over IPv4:\n{r.output}"
        print(f"   IPv4 MN -> {T.GW_OUT} through the NAT works; MN IPv6 routes: "
              f"{self.topo.mn.routes6().strip() or '(none)'}")

    def start_gateway(self) -> None:
        t = self.topo
        self.gw = t.start_gateway(wait=False)
        self.show_cmd(t.gw, self.gw.argv)
        t.wait_gateway_ready(self.gw)
        print(f"   listening on {T.GW_OUT}:{T.GW_PORT}; route on GW: "
              f"{next(l for l in t.gw.routes6().splitlines() if 'm6tgw0' in l)}")

    def start_client(self) -> None:
        t = self.topo
        self.cl = t.start_client(wait=False)
        self.show_cmd(t.mn, self.cl.argv)
        self.addr = t.wait_client_address(self.cl)
        print(f"   tunnel address: {self.addr}")
        print(f"   MN IPv6 routes now:\n{self.indent(t.mn.routes6())}")

    def ping_mn_ha(self) -> None:
        t = self.topo
        t.establish(self.cl)
        argv = ["ping", "-6", "-c", "4", "-i", "0.2", T.HA_ADDR]
        self.show_cmd(t.mn, argv)
        cp = t.mn.run(argv, check=False, timeout=20)
        print(self.indent(cp.stdout))
        assert cp.returncode == 0, "ping6 MN -> HA failed"
        s = t.gw_state(self.gw.show_json(), self.addr)
        print(f"\n   gateway state for the MN: {s['kind']}, NAT side {s['nat']}")
        print("   NAT router's mapping (conntrack):")
        print(self.indent(t.conntrack_udp()))

    def ping_ha_mn(self) -> None:
        t = self.topo
        argv = ["ping", "-6", "-c", "4", "-i", "0.2", self.addr]
        self.show_cmd(t.ha, argv)
        cp = t.ha.run(argv, check=False, timeout=20)
        print(self.indent(cp.stdout))
        assert cp.returncode == 0, "ping6 HA -> MN failed"

    def transfer(self) -> None:
        t = self.topo
        nbytes = self.mb << 20
        for src, dst, addr in ((t.mn, t.ha, T.HA_ADDR), (t.ha, t.mn, self.addr)):
            r = t.tcp_transfer(src, dst, addr, nbytes)
            match = r["sent"]["sha256"] == r["received"]["sha256"]
            print(f"   {src.role.upper()} -> {dst.role.upper()} [{addr}]:5001  {self.mb} MiB in "
                  f"{r['seconds']:.2f}s = {r['mbit_s']:.0f} Mbit/s")
            print(f"     sent     {r['sent']['bytes']} bytes sha256 {r['sent']['sha256']}")
            print(f"     received {r['received']['bytes']} bytes sha256 "
                  f"{r['received']['sha256']}  {'MATCH' if match else 'MISMATCH'}")
            assert r["ok"], "transfer corrupted or incomplete"

    def show(self, d) -> None:
        argv = [self.m6t, "show", "--control", d.control]
        self.show_cmd(d.ns, argv)
        print(self.indent(d.show_text()))

    def run(self) -> bool:
        self.step("Topology", """
            Four network namespaces on this machine: the mobile node behind an IPv4-only NAT,
            the NAT router, the tunnel gateway and the home agent.""", self.build, essential=True)
        self.step("Start the gateway", """
            On GW: listens for UDP from MNs, creates the TUN device m6tgw0 and routes the
            tunnel prefix into it, so that the HA's packets for MNs reach the gateway.""",
                  self.start_gateway, essential=True)
        self.step("Start the client", """
            On MN: sees IPv4 connectivity, draws 48 random bits for its tunnel address under
            its /80, puts it on TUN m6t0 and routes IPv6 (default route) into the tunnel.""",
                  self.start_client, essential=True)
        self.step("ping6 MN -> HA", """
            The MN's first packet creates a temporary state on the gateway (tunnel address ->
            NAT address and port); the HA's answer makes it active.""", self.ping_mn_ha)
        self.step("ping6 HA -> MN", f"""
            The HA pings the MN's tunnel address; the gateway finds the active state and sends
            the packets to the NAT's address and port, which the NAT maps back to the MN.""",
                  self.ping_ha_mn)
        self.step("TCP transfer through the tunnel", f"""
            {self.mb} MiB of random bytes each way over TCP; both ends compute SHA-256.""",
                  self.transfer)
        self.step("m6t show: gateway", """
            The gateway's view: its states (one per MN tunnel address), counters and drops.""",
                  lambda: self.show(self.gw))
        self.step("m6t show: client", """
            The client's view: state, tunnel address, gateway, keepalives, counters, history.""",
                  lambda: self.show(self.cl))
        return all(ok for _, ok in self.results)

    def cleanup(self) -> None:
        if self.topo is None:
            return
        print(f"\n{BOLD}== Cleanup =={RESET}")
        for d in (self.cl, self.gw):
            if d is not None and d.alive():
                rc = d.stop(timeout=5)
                print(f"   stopped {d.name} (pid {d.pid}): exit status {rc}")
        self.topo.teardown()
        print(f"   removed namespaces {' '.join(ns.name for ns in self.topo.namespaces)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m6t", type=Path, default=T.default_m6t_bin(),
                    help="the m6t binary (default: $M6T_BIN or build/m6t)")
    ap.add_argument("--mb", type=int, default=8, help="MiB to transfer each way (default 8)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("demo.py needs root (network namespaces, nftables)", file=sys.stderr)
        return 2
    m6t = args.m6t.resolve()
    if not (m6t.is_file() and os.access(m6t, os.X_OK)):
        print(f"m6t binary not found: {m6t} (cmake -S . -B build -G Ninja && ninja -C build "
              f"m6t, or --m6t PATH)", file=sys.stderr)
        return 2

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    T.cleanup_stale()
    demo = Demo(m6t, args.mb)
    rc = 1
    try:
        rc = 0 if demo.run() else 1
    except Interrupted as e:
        print(f"\n{RED}interrupted by {e}{RESET}")
        rc = 128 + e.signum
    except Exception as e:  # noqa: BLE001
        print(f"\n{RED}demo aborted: {e}{RESET}")
        rc = 1
    finally:
        # A second Ctrl-C must not stop the cleanup half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            demo.cleanup()
        except Exception as e:  # noqa: BLE001
            print(f"{RED}cleanup error: {e}{RESET}")
            rc = rc or 1
    print(f"\n{BOLD}Summary{RESET}")
    for title, ok in demo.results:
        print(f"   {'ok    ' if ok else 'FAILED'}  {title}")
    print(f"\n{GREEN + 'demo succeeded' if rc == 0 else RED + f'demo failed (exit {rc})'}{RESET}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
