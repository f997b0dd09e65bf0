"""m6t integration tests: real daemons in network namespaces.

How to run (as root, from the repository root)::

    cmake -S . -B build -G Ninja && ninja -C build m6t
    /usr/bin/python3 -m pytest -v tests/integration

Use Debian's /usr/bin/python3 (it has pytest and scapy).  The m6t binary is taken from the
environment variable M6T_BIN, default <repo>/build/m6t.  If it is missing every test that needs
it FAILS (it is not skipped: a skipped check must never look like a pass).  The topology
self-tests (test_topology.py) need only ip, nft, conntrack and ping.

Each test builds its own namespaces (m6t<pid>-<n>-<role>, see topology.py) and removes them
afterwards, also when the test fails or the run is interrupted (Ctrl-C, SIGTERM).  Namespaces
left by a harness run that was killed outright are removed at the next run's start.  Logs of the
daemons are in each test's tmp_path (pytest keeps the last three runs under
/tmp/pytest-of-root/) and are attached to the report of a failed test.

Useful options: ``-k keepalive`` (one scenario), ``--durations=0`` (timings),
``-p no:cacheprovider`` (no .pytest_cache in the work tree), ``-s`` (transfer rates, fallback
time).  The whole suite takes about 90 s, 30 s of which is the keepalive test's silence.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import topology  # noqa: E402

_TOPO_ATTR = "_m6t_topologies"
_SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |"
                           r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|"
                           r"Sanitizer has encountered a fatal error")


def pytest_configure(config):
    config.addinivalue_line("markers", "m6t: needs the m6t binary (build/m6t or $M6T_BIN)")
    config.addinivalue_line("markers", "slow: lets real time pass (NAT timeouts)")


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        return  # the root fixture reports it per test
    topology.cleanup_stale()

    # SIGTERM: unwind like Ctrl-C so that fixture finalizers remove the namespaces.
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)


@pytest.fixture(scope="session")
def root():
    if os.geteuid() != 0:
        pytest.fail("the integration tests need root (network namespaces, nftables)",
                    pytrace=False)


def _missing_binary() -> str | None:
    path = topology.default_m6t_bin()
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return (f"m6t binary not found or not executable: {path}\n"
            f"build it with `cmake -S . -B build -G Ninja && ninja -C build m6t` "
            f"or point M6T_BIN at it")


@pytest.fixture(scope="session")
def m6t_bin(root) -> Path:
    """The binary's path.  A missing binary fails the test in its call phase (see
    pytest_runtest_call): reported FAILED, never skipped."""
    return topology.default_m6t_bin()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if "m6t_bin" in getattr(item, "fixturenames", ()) or item.get_closest_marker("m6t"):
        msg = _missing_binary()
        if msg:
            pytest.fail(msg, pytrace=False)


@pytest.fixture
def make_topology(request, tmp_path, root):
    """Factory: make_topology(**options) -> a built Topology (or ``cls``, a subclass such as
    cluster.Cluster), torn down after the test."""
    topos: list[topology.Topology] = []
    setattr(request.node, _TOPO_ATTR, topos)

    def make(cls=topology.Topology, **kw) -> topology.Topology:
        kw.setdefault("m6t_bin", topology.default_m6t_bin())
        workdir = tmp_path / f"topo{len(topos) + 1}"
        t = cls(workdir, **kw)
        topos.append(t)
        return t.build()

    yield make
    call = getattr(request.node, "rep_call", None)
    already_failed = call is not None and call.failed
    crashed = [] if already_failed else [f"{d.name} exited with status {d.poll()} while the test ran\n{d.log_tail()}"
               for t in topos for d in t.daemons() if d.crashed()]
    for t in reversed(topos):
        t.teardown()
    # ASan/UBSan builds (scripts/test.sh runs the suite with one): a report in any process's
    # log fails the test, whatever it asserted; the daemons have exited by now, so leak
    # reports (at exit) are in.
    reports = [] if already_failed else [f"{p.name}: sanitizer report\n{p.log_tail(120)}"
                                         for t in topos for p in t.processes
                                         if _SANITIZER_RE.search(p.read_log())]
    if crashed or reports:
        pytest.fail("\n".join(crashed + reports), pytrace=False)


@pytest.fixture
def topo(make_topology, m6t_bin) -> topology.Topology:
    """The standard topology, for tests that run m6t."""
    return make_topology()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    if rep.failed and rep.when in ("setup", "call"):
        for t in getattr(item, _TOPO_ATTR, []):
            if t.processes:
                rep.sections.append((f"m6t logs ({t.id}, {t.workdir})", t.logs(lines=80)))


@pytest.fixture
def measure(request):
    """measure(what, value, unit="s"): prints a measured figure and appends it, as a JSON line,
    to the file named by $M6T_MEASUREMENTS (scripts/test.sh prints the collected lines at the
    end). Measurements are reported, never asserted against: speed belongs to bench/."""
    import json

    def record(what: str, value: float, unit: str = "s") -> None:
        print(f"MEASURED {what}: {value:.3f} {unit}")
        path = os.environ.get("M6T_MEASUREMENTS")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"test": request.node.name, "what": what,
                                    "value": round(value, 3), "unit": unit}) + "\n")
    return record
