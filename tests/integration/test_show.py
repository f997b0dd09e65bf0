"""`m6t show` as a contract (docs/show.md): always a list of daemons with a schema version and
absolute times beside the relative ones; `dump` tab-separated; one daemon by its TUN device; one
MN by --state; every state listed however many there are (paged through the control socket);
--control-group; the Prometheus text of --metrics accepted by promtool."""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

import topology as T

REPO = Path(__file__).resolve().parents[2]


def promtool() -> str:
    """Debian's promtool (package prometheus), or the copy scripts/deps.sh extracts."""
    for p in (shutil.which("promtool"), str(REPO / "build" / "tools" / "promtool")):
        if p and os.access(p, os.X_OK):
            return p
    pytest.fail("promtool not found (scripts/deps.sh extracts it to build/tools/promtool)")


METRICS_PORT = 9464


def http_get(ns: T.Namespace, url: str) -> tuple[int, str, str]:
    code = ("import sys, urllib.request, urllib.error\n"
            "try:\n"
            f"    r = urllib.request.urlopen({url!r}, timeout=10)\n"
            "    print(r.status); print(r.headers['Content-Type']); sys.stdout.write(r.read().decode())\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(e.code); print(''); \n")
    out = ns.run([T.PYTHON, "-c", code], timeout=30).stdout
    status, ctype, body = (out.split("\n", 2) + ["", ""])[:3]
    return int(status), ctype, body


def m6t_show(topo: T.Topology, ns: T.Namespace, *args: str, check: bool = True):
    return ns.run([str(topo.m6t_bin), "show", *args], check=check, timeout=60)


@pytest.mark.m6t
def test_show_json_dump_state_iface_and_metrics(make_topology, m6t_bin):
    topo = make_topology()
    group = grp.getgrgid(0).gr_name if not _group("adm") else "adm"
    gw = topo.start_gateway(extra=["--control-group", group,
                                   "--metrics-listen", f"{T.GW_OUT}:{METRICS_PORT}"])
    cl = topo.start_client()
    addr = topo.establish(cl)
    now = time.time()

    docs = json.loads(m6t_show(topo, topo.gw, "--json", "--control", gw.control).stdout)
    assert isinstance(docs, list) and len(docs) == 1
    d = docs[0]
    assert d["schema_version"] == 1 and d["role"] == "gateway" and d["tun"] == "m6tgw0"
    assert abs(d["time_unix"] - now) < 30 and d["started_unix"] <= d["time_unix"]
    assert d["time"].endswith("Z") and d["started"].endswith("Z")
    s = T.Topology.gw_state(d, addr)
    assert s and s["kind"] == "active"
    for rel, ab in (("age_ms", "created_unix"), ("idle_ms", "last_packet_unix")):
        assert abs((d["time_unix"] - s[ab]) - s[rel] / 1000) <= 1.5, (rel, ab, s, d["time_unix"])
    assert abs((s["expires_unix"] - d["time_unix"]) - s["expires_in_ms"] / 1000) <= 1.5
    assert d["config"]["source"] == "the command line"

    # One MN.
    one = json.loads(m6t_show(topo, topo.gw, "--json", "--state", addr, "--control",
                              gw.control).stdout)
    assert [x["mn"] for x in one[0]["states"]] == [s["mn"]]
    none = json.loads(m6t_show(topo, topo.gw, "--json", "--state", "fd00:db8:1:0:9::1",
                               "--control", gw.control).stdout)
    assert none[0]["states"] == []
    bad = m6t_show(topo, topo.gw, "--state", "nonsense", "--control", gw.control, check=False)
    assert bad.returncode != 0 and "--state nonsense" in bad.stderr

    # One daemon by its TUN device, and none by another.
    picked = json.loads(m6t_show(topo, topo.gw, "m6tgw0", "--json", "--control",
                                 gw.control).stdout)
    assert len(picked) == 1
    other = m6t_show(topo, topo.gw, "m6tgw9", "--control", gw.control, check=False)
    assert other.returncode == 1 and "no daemon with TUN device m6tgw9" in other.stderr

    # dump: a line for the daemon, one per state, tab-separated (m6t(8) gives the columns).
    lines = m6t_show(topo, topo.gw, "dump", "--control", gw.control).stdout.splitlines()
    head = lines[0].split("\t")
    assert head[:2] == ["m6tgw0", "gateway"] and head[3] == topo.ula, head
    rows = [line.split("\t") for line in lines[1:]]
    mine = [r for r in rows if r[1] == s["mn"]]
    assert mine and len(mine[0]) == 13 and mine[0][4] == "active", rows
    assert mine[0][2] == s["nat"] and int(mine[0][8]) >= 1  # packets from the MN
    cdump = m6t_show(topo, topo.mn, "dump", "--control", cl.control).stdout.split("\t")
    assert cdump[:4] == ["m6t0", "client", "up", addr], cdump

    # --control-group: the socket is that group's to read, nobody else's.
    st = os.stat(gw.control)
    assert grp.getgrgid(st.st_gid).gr_name == group and stat.S_IMODE(st.st_mode) == 0o660

    # Metrics: both daemons' text passes promtool, with the families docs/operations.md names.
    for ns, d_ in ((topo.gw, gw), (topo.mn, cl)):
        text = m6t_show(topo, ns, "--metrics", "--control", d_.control).stdout
        check = subprocess.run([promtool(), "check", "metrics"], input=text, text=True,
                               capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr + text
        assert "# TYPE m6t_packets_total counter" in text
    gtext = m6t_show(topo, topo.gw, "--metrics", "--control", gw.control).stdout

    # The same text over HTTP (--metrics-listen), for a Prometheus server to scrape.
    status, ctype, body = http_get(topo.gw, f"http://{T.GW_OUT}:{METRICS_PORT}/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    check = subprocess.run([promtool(), "check", "metrics"], input=body, text=True,
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr + body
    assert 'm6t_states{role="gateway",tun="m6tgw0",kind="active"} 1' in body
    assert http_get(topo.gw, f"http://{T.GW_OUT}:{METRICS_PORT}/other")[0] == 404
    assert 'm6t_states{role="gateway",tun="m6tgw0",kind="active"} 1' in gtext, gtext
    assert 'm6t_drops_total{role="gateway",tun="m6tgw0",reason="rate_limited"}' in gtext


def _group(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


@pytest.mark.m6t
def test_every_state_is_listed_however_many(make_topology, m6t_bin):
    """More states than one answer of the control socket holds (kStatesPerPage, 10 000):
    m6t show pages through them and lists every one, in JSON and in dump."""
    tool = T.default_m6t_bin().parent / "m6t-attack"
    assert tool.is_file(), f"attack tool not built: {tool}"
    topo = make_topology(attacker=True)
    gw = topo.start_gateway(extra=["--temp-lifetime-ms", "600000", "--max-temp-states", "20000",
                                   "--max-states", "20000"])
    n = 12_000
    proc = topo.atk.spawn("attack-flood", [
        str(tool), "flood", "--to", f"{T.GW_OUT}:{T.GW_PORT}", "--from", "198.19.0.0/16",
        "--prefix", topo.ula, "--home-agent", T.HA_ADDR, "--count", str(n),
        "--duration", "30", "--rate", "4000"])
    assert proc.wait(timeout=60) == 0, proc.log_tail()
    # More than one page's worth (the creation budget may defer a few first packets).
    page = 10_000
    total = topo.wait_until(lambda: (t := gw.show_json()["states_total"]) > page and t,
                            20, "more temporary states than one page")
    d = gw.show_json()
    assert len(d["states"]) == d["states_total"] > page, (len(d["states"]), total)
    assert len({s["mn"] for s in d["states"]}) == len(d["states"]), "a state listed twice"
    lines = m6t_show(topo, topo.gw, "dump", "--control", gw.control).stdout.splitlines()
    assert len(lines) - 1 == d["states_total"]


def _paths(d, prefix: str = ""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(d, list) and d and isinstance(d[0], dict):
        yield from _paths(d[0], f"{prefix}[]")
    else:
        yield prefix


def documented(path: str, names: set[str]) -> bool:
    """`a.b.c` is documented as itself, or under `a.b.*`, `a.*`, or as a field of an object
    whose members the doc lists in one cell (`hook`)."""
    if path in names:
        return True
    parts = path.split(".")
    if parts[-1] in ("packets", "bytes") and ".".join(parts[:-1]) in names:
        return True  # a flow
    return any(".".join(parts[:i]) + ".*" in names for i in range(1, len(parts))) or \
        parts[0] in names and len(parts) == 2 and parts[0] == "hook"


@pytest.mark.m6t
def test_every_field_of_show_is_documented(make_topology, m6t_bin):
    import re
    names = set(re.findall(r"`([a-z0-9_\[\].*]+)`", (REPO / "docs" / "show.md").read_text()))
    topo = make_topology()
    gw = topo.start_gateway()
    cl = topo.start_client(extra=["--hook", "/bin/true"])
    topo.establish(cl)
    missing = [p for d in (gw.show_json(), cl.show_json()) for p in _paths(d)
               if not documented(p, names)]
    assert not missing, f"fields of m6t show --json not in docs/show.md: {sorted(set(missing))}"
