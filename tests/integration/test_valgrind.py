"""Valgrind: a gateway (the release build, with debug info) under valgrind memcheck in
the real topology, with a client pinging through it and a TCP transfer, then SIGTERM: no
invalid access, no use of uninitialised memory, no leak (definite or indirect), and the usual
clean exit.  The ASan/UBSan pass of scripts/test.sh covers the client and every other
scenario; this covers what ASan cannot see (uninitialised reads) on the hot path."""

import re
import shutil
from pathlib import Path

import pytest

import topology as T

pytestmark = pytest.mark.m6t

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
ERROR_EXIT = 99


def test_gateway_under_valgrind_has_no_error_and_no_leak(topo):
    name = "gateway-valgrind"
    control = topo.rundir / f"{name}.sock"
    argv = [VALGRIND, "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", f"--error-exitcode={ERROR_EXIT}",
            "--track-origins=yes", "--trace-children=no",
            f"--suppressions={Path(__file__).parent / 'valgrind.supp'}",
            str(topo.m6t_bin), "gateway", "--listen", f"{T.GW_OUT}:{T.GW_PORT}",
            "--prefix", topo.ula, "--home-agent", T.HA_ADDR, "--tun", "m6tgw0",
            "--control", str(control), "--state-dir", str(topo.state_dir(name))]
    gw = topo._register(T.Process(topo.gw, name, argv, topo.log_path(name)))

    def ready():
        if not gw.alive():
            raise AssertionError(f"valgrind exited early\n{gw.log_tail()}")
        return topo.gw.has_link("m6tgw0") and control.exists()
    topo.wait_until(ready, 60, "gateway under valgrind ready")

    cl = topo.start_client()
    addr = topo.establish(cl, timeout=30)
    ping = topo.mn.ping6(T.HA_ADDR, 50, interval=0.02, wait_s=2)
    assert ping.received > 0, ping
    assert topo.ha.ping6(addr, 10, interval=0.05).received > 0
    show = topo.gw.run([topo.m6t_bin, "show", "--json", "--control", control]).stdout
    assert addr.split(":")[0] in show
    xfer = topo.tcp_transfer(topo.mn, topo.ha, T.HA_ADDR, 2_000_000, timeout=60)
    assert xfer["ok"], xfer
    assert cl.stop(timeout=5) == 0, cl.log_tail()

    rc = gw.stop(timeout=30)
    log = gw.read_log()
    assert rc == 0, f"valgrind/gateway exit status {rc}\n{gw.log_tail(200)}"
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", log)
    assert summary and summary.group(1) == "0", gw.log_tail(200)
    for kind in ("definitely lost", "indirectly lost"):
        m = re.search(kind + r": ([\d,]+) bytes", log)
        # valgrind prints no LEAK SUMMARY at all when nothing was allocated at exit
        assert m is None or m.group(1) == "0", gw.log_tail(200)
    assert "Invalid read" not in log and "Invalid write" not in log
    assert "uninitialised" not in log, gw.log_tail(200)
    assert not topo.gw.has_link("m6tgw0")
