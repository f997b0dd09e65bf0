"""m6t's package and units under a real systemd: a gateway and a client, each in a systemd
of its own (systemd_host.py) booted inside the GW and MN namespaces of the NAT topology
(MN - nftables masquerade NAT - GW - HA), the package installed there with dpkg.

Checks: both units start and reach READY (Type=notify) with a STATUS line; traffic crosses
the tunnel both ways; `systemctl reload` applies a changed rate and home agent with the
state kept and logs it natively in the journal (with its priority); `systemctl stop` leaves no
device, address or route; a bad and a missing configuration each fail the start with one
line at priority err in the journal. Reports `systemd-analyze security` of both units.

    sudo /usr/bin/python3 -m pytest -v tests/system      (after bash scripts/package.sh)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import topology as T  # noqa: E402
from systemd_host import SystemdHost  # noqa: E402

GATEWAY_TOML = f"""[gateway]
listen = ["{T.GW_OUT}:{T.GW_PORT}"]
prefix = "{T.ULA_PREFIX}"
home-agent = ["{T.HA_ADDR}"]
"""
CLIENT_TOML = f"""[client]
gateway = ["{T.GW_OUT}:{T.GW_PORT}"]
prefix = "{T.mn_prefix80(T.ULA_PREFIX, 0, 1)}"
"""


def measure(what: str, value, unit: str) -> None:
    path = os.environ.get("M6T_MEASUREMENTS")
    print(f"measured: {what}: {value} {unit}")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": "test_systemd", "what": what, "value": value,
                                "unit": unit}) + "\n")


@pytest.fixture(scope="module")
def deb() -> Path:
    if os.geteuid() != 0:
        pytest.fail("needs root (namespaces, systemd, dpkg)")
    found = sorted(REPO.glob("build/m6t_*.deb"))
    if not found:
        subprocess.run(["bash", str(REPO / "scripts" / "package.sh")], check=True,
                       stdout=subprocess.DEVNULL)
        found = sorted(REPO.glob("build/m6t_*.deb"))
    assert found, "no package under build/ (bash scripts/package.sh)"
    return found[-1]


@pytest.fixture(scope="module")
def setup(deb, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("systemd")
    topo = T.Topology(workdir, label="systemd").build()
    hosts: list[SystemdHost] = []
    try:
        gw = SystemdHost(topo.gw.name, workdir, "gw")
        hosts.append(gw)
        mn = SystemdHost(topo.mn.name, workdir, "mn")
        hosts.append(mn)
        for h in hosts:
            h.boot()
            h.install(deb)
        gw.write("/etc/m6t/gateway.toml", GATEWAY_TOML)
        mn.write("/etc/m6t/client.toml", CLIENT_TOML)
        yield topo, gw, mn
    finally:
        for h in hosts:
            try:
                h.poweroff()
            except Exception as e:  # noqa: BLE001 - keep tearing down
                print(f"poweroff {h.name}: {e}")
        topo.teardown()


def show(host: SystemdHost) -> dict:
    docs = json.loads(host.run(["m6t", "show", "--json"]).stdout)
    return docs[0] if isinstance(docs, list) else docs


def m6t_lines(host: SystemdHost, unit: str, pid: str | None = None) -> list[dict]:
    """What the m6t process itself wrote to the journal (not systemd's own lines)."""
    return [e for e in host.journal(unit)
            if e.get("SYSLOG_IDENTIFIER") == "m6t" and (pid is None or e.get("_PID") == pid)]


def test_units_start_carry_traffic_reload_and_stop_clean(setup):
    topo, gw, mn = setup
    gw.run(["systemctl", "start", "m6t-gateway.service"])
    mn.run(["systemctl", "start", "m6t-client@client.service"])
    for host, unit in ((gw, "m6t-gateway.service"), (mn, "m6t-client@client.service")):
        st = host.show(unit, "ActiveState", "SubState", "StatusText", "Type", "MainPID")
        # Type=notify: "active" only once the daemon said READY=1.
        assert st["Type"] == "notify" and st["ActiveState"] == "active", (unit, st)
        assert st["StatusText"], f"{unit}: no STATUS= line"
    # --fast-path auto: the unit's sandbox must still let the eBPF programs load.
    for host in (gw, mn):
        assert show(host)["fast_path"]["active"], (host.name, show(host)["fast_path"])
    addr = mn.wait("the client's tunnel address", lambda: show(mn).get("address"))
    T.wait_until(lambda: topo.mn.ping6(T.HA_ADDR, 1).ok, 15, what="ping6 MN -> HA through m6t")
    assert topo.ha.ping6(addr, 3).ok, "HA -> MN through m6t"
    status = gw.wait("the gateway's STATUS= with the active state",
                     lambda: (s := gw.show("m6t-gateway.service", "StatusText")["StatusText"])
                     .startswith("1 active") and s)
    measure("gateway STATUS= once serving", status, "")
    measure("client STATUS= once serving",
            mn.show("m6t-client@client.service", "StatusText")["StatusText"], "")

    # Set up with the unit's ambient capabilities, then without: the gateway keeps none, the
    # client CAP_NET_ADMIN alone (bit 12), and neither can regain any (bounding set empty).
    for host, unit, eff in ((gw, "m6t-gateway.service", 0),
                            (mn, "m6t-client@client.service", 1 << 12)):
        pid = host.show(unit, "MainPID")["MainPID"]
        status = dict(line.split(":\t", 1) for line in
                      host.run(["cat", f"/proc/{pid}/status"]).stdout.splitlines() if ":\t" in line)
        assert status["Uid"].split()[0] == status["Uid"].split()[1] != "0", status["Uid"]
        assert int(status["CapEff"], 16) == eff and int(status["CapPrm"], 16) == eff, (unit, status)
        assert int(status["CapBnd"], 16) == 0 and int(status["CapAmb"], 16) == 0, (unit, status)

    # Started natively logging to the journal: its lines carry priorities and its role.
    up = [e for e in m6t_lines(gw, "m6t-gateway.service") if "m6t gateway up" in e["MESSAGE"]]
    assert up and up[0]["PRIORITY"] == "6" and up[0].get("M6T_ROLE") == "gateway", up

    # systemctl reload: a new rate and a second home agent, the MN's state kept.
    pid = gw.show("m6t-gateway.service", "MainPID")["MainPID"]
    before = show(gw)
    gw.write("/etc/m6t/gateway.toml",
             GATEWAY_TOML.replace(f'["{T.HA_ADDR}"]', f'["{T.HA_ADDR}", "2001:db8:1::9"]')
             + "rate = 50\n")
    gw.run(["systemctl", "reload", "m6t-gateway.service"])
    reloaded = gw.wait("the reload's log line", lambda: [
        e for e in m6t_lines(gw, "m6t-gateway.service", pid)
        if "configuration reloaded" in e["MESSAGE"]])
    assert "applied home-agent, rate" in reloaded[0]["MESSAGE"], reloaded[0]["MESSAGE"]
    assert reloaded[0]["PRIORITY"] == "6"
    measure("journal line of systemctl reload", reloaded[0]["MESSAGE"], "")
    after = show(gw)
    assert gw.show("m6t-gateway.service", "MainPID")["MainPID"] == pid, "reload restarted it"
    assert after["config"]["loaded_unix"] >= before["config"]["loaded_unix"]
    assert "2001:db8:1::9" in after["home_agents"]
    mn_state = T.Topology.gw_state(after, addr)
    assert mn_state and mn_state["kind"] == "active", "the MN's state did not survive the reload"
    assert topo.mn.ping6(T.HA_ADDR, 2).ok, "traffic after the reload"

    # systemctl restart (an upgrade does the same): the saved state comes back from
    # StateDirectory= (/var/lib/m6t, 0700, the file 0600 and m6t's), and the HA reaches the MN
    # at once, before it sends anything.
    gw.run(["systemctl", "restart", "m6t-gateway.service"])
    pid = gw.show("m6t-gateway.service", "MainPID")["MainPID"]
    assert topo.ha.ping6(addr, 1, wait_s=2).ok, "HA -> MN right after the restart"
    restored = show(gw)
    assert restored["state_stats"]["restored"] == 1, restored["state_stats"]
    assert T.Topology.gw_state(restored, addr)["nat"] == mn_state["nat"]
    perms = gw.run(["stat", "-c", "%a %U", "/var/lib/m6t", "/var/lib/m6t/gateway-m6tgw0.state"])
    assert perms.stdout.split("\n")[:2] == ["700 m6t", "600 m6t"], perms.stdout

    # systemctl stop: nothing left behind.
    mn.run(["systemctl", "stop", "m6t-client@client.service"])
    mn_links = topo.mn.out([T.IP, "-o", "link"])
    assert "m6t0" not in mn_links
    assert "fd00:db8:1" not in topo.mn.out([T.IP, "-6", "-o", "addr"])
    assert "m6t0" not in topo.mn.out([T.IP, "-6", "route", "show", "table", "all"])
    gw.run(["systemctl", "stop", "m6t-gateway.service"])
    assert "m6tgw0" not in topo.gw.out([T.IP, "-o", "link"])
    assert "fd00:db8:1::/48" not in topo.gw.out([T.IP, "-6", "route", "show", "table", "all"])
    for host in (gw, mn):
        left = host.run(["sh", "-c", "ls -A /run/m6t 2>/dev/null | grep -v '^claims$' || true"])
        assert not left.stdout.strip(), (f"left in /run/m6t: {left.stdout}",
                                         [e["MESSAGE"] for e in m6t_lines(host, "m6t-*")])
    stopping = [e for e in m6t_lines(gw, "m6t-gateway.service", pid) if "stopped" in e["MESSAGE"]]
    assert stopping, "no 'stopped' line"


def test_a_bad_or_missing_configuration_fails_with_one_line(setup):
    topo, gw, mn = setup
    gw.write("/etc/m6t/gateway.toml", GATEWAY_TOML + 'prefx = "fd00::/48"\n')
    r = gw.run(["systemctl", "start", "m6t-gateway.service"], check=False)
    assert r.returncode != 0, "a gateway with a bad configuration started"
    st = gw.show("m6t-gateway.service", "ActiveState", "ExecMainStatus", "ExecMainPID")
    assert st["ActiveState"] == "failed" and st["ExecMainStatus"] == "2", st
    lines = m6t_lines(gw, "m6t-gateway.service", st["ExecMainPID"])
    assert len(lines) == 1, [e["MESSAGE"] for e in lines]
    assert lines[0]["PRIORITY"] == "3", lines[0]
    assert re.search(r"gateway\.toml:\d+: unknown key 'prefx'.*did you mean 'prefix'",
                     lines[0]["MESSAGE"]), lines[0]["MESSAGE"]
    measure("journal line of a bad configuration", lines[0]["MESSAGE"], "")
    # RestartPreventExitStatus=2: not restarted in a loop.
    assert gw.show("m6t-gateway.service", "NRestarts")["NRestarts"] == "0"

    r = mn.run(["systemctl", "start", "m6t-client@nothere.service"], check=False)
    assert r.returncode != 0
    st = mn.show("m6t-client@nothere.service", "ActiveState", "ExecMainPID")
    assert st["ActiveState"] == "failed"
    lines = m6t_lines(mn, "m6t-client@nothere.service", st["ExecMainPID"])
    assert len(lines) == 1 and lines[0]["PRIORITY"] == "3", [e["MESSAGE"] for e in lines]
    assert "/etc/m6t/nothere.toml" in lines[0]["MESSAGE"], lines[0]["MESSAGE"]
    measure("journal line of a missing configuration", lines[0]["MESSAGE"], "")


def test_security_exposure_is_reported(setup):
    _, gw, mn = setup
    for host, unit in ((gw, "m6t-gateway.service"), (mn, "m6t-client@client.service")):
        out = host.run(["systemd-analyze", "security", "--no-pager", unit], check=False).stdout
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", out)
        assert m, out[-500:]
        measure(f"systemd-analyze security {unit}", f"{m.group(1)} {m.group(2)}", "")
        assert float(m.group(1)) < 5.0, out
