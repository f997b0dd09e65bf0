"""Least privilege: with ``--user nobody`` the gateway runs without any
capability and the client keeps only CAP_NET_ADMIN, as read from /proc/PID/status of the
running daemons; the tunnel still works, a new attachment (new address, route, socket and
claim) still works after the drop, ``m6t show`` (root) still answers, and SIGTERM still
removes every address, route, device, lock file and control socket.  An unknown user fails
the start with nothing installed."""

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

import topology as T

pytestmark = pytest.mark.m6t

USER = "nobody"
CAP_NET_ADMIN = 12


def status_fields(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def caps(fields: dict) -> dict:
    return {k: int(fields[k][0], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


@pytest.fixture
def privdir():
    """A directory the daemons' control sockets and claims go under: traversable by the
    user (the topology's own run directory is root's, mode 0700).  The control sockets'
    directories exist and belong to the user, as a sysadmin (or systemd's RuntimeDirectory=)
    would prepare them: a daemon never creates a --control directory of its own.  The claims
    directory does not exist yet: the client creates it and gives it to the user."""
    d = Path(tempfile.mkdtemp(prefix="m6tpriv-", dir="/tmp"))
    d.chmod(0o755)
    user = pwd.getpwnam(USER)
    for sub in ("gw", "cl"):
        (d / sub).mkdir(mode=0o755)
        os.chown(d / sub, user.pw_uid, user.pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start(topo, ns, name, role, args, control, tun):
    d = topo._register(T.Daemon(ns, name, topo.m6t_bin, role, [*args, "--user", USER], control,
                                topo.log_path(name), tun))
    return d


def test_daemons_run_as_user_with_only_the_capabilities_they_need(topo, privdir):
    user = pwd.getpwnam(USER)
    before = {ns.role: ns.snapshot() for ns in (topo.mn, topo.gw)}
    gw = start(topo, topo.gw, "gateway", "gateway",
               ["--listen", f"{T.GW_OUT}:{T.GW_PORT}", "--prefix", topo.ula,
                "--home-agent", T.HA_ADDR, "--tun", "m6tgw0", "--state-dir",
                str(privdir / "gw-state")],
               privdir / "gw" / "gateway.sock", "m6tgw0")
    topo.wait_gateway_ready(gw)
    claims = privdir / "claims"
    cl = start(topo, topo.mn, "client", "client",
               ["--gateway", f"{T.GW_OUT}:{T.GW_PORT}", "--prefix", T.mn_prefix80(topo.ula),
                "--tun", "m6t0", "--claims-dir", str(claims)],
               privdir / "cl" / "client.sock", "m6t0")
    addr = topo.establish(cl)
    assert topo.ha.ping6(addr, 3).ok, "HA -> MN through the tunnel"

    # The ids and capability sets of the running daemons.
    for d, want_caps in ((gw, 0), (cl, 1 << CAP_NET_ADMIN)):
        f = status_fields(d.pid)
        assert f["Uid"] == [str(user.pw_uid)] * 4, (d.name, f["Uid"])
        assert f["Gid"] == [str(user.pw_gid)] * 4, (d.name, f["Gid"])
        assert f.get("Groups", []) == [], (d.name, f.get("Groups"))
        c = caps(f)
        assert c == {"CapInh": 0, "CapPrm": want_caps, "CapEff": want_caps, "CapBnd": 0,
                     "CapAmb": 0}, (d.name, {k: hex(v) for k, v in c.items()})
        assert f"running as user {USER}" in d.read_log()
    # The directories the daemons write after the drop belong to the user (the claims one
    # created and given by the client); the control sockets stay root's to query.
    for sub in ("gw", "cl", "claims", "gw-state"):
        assert (privdir / sub).stat().st_uid == user.pw_uid, sub
    assert (privdir / "gw-state").stat().st_mode & 0o777 == 0o700
    assert gw.show_json()["states"] and cl.show_json()["address"]
    assert list(claims.glob("*.lock")), "the client holds a claim"

    # A new attachment after the drop: new address, source route, socket and claim.
    # Twice, so that the MN ends on its first IPv4 address (compared below).
    first_ipv4 = topo.mn_addr[topo.mn.name]
    for new_ipv4 in (None, first_ipv4):
        topo.change_mn_ipv4(new_ipv4)
        addr2 = topo.wait_client_address(cl, timeout=15, different_from=addr)
        topo.wait_until(lambda: topo.mn.ping6(T.HA_ADDR, 1).ok, 15, "ping6 HA after the move",
                        interval=0.2)
        assert addr not in topo.mn.addrs6(), "the old tunnel address is withdrawn"
        addr = addr2

    # SIGTERM: everything goes, although the daemons are no longer root.
    assert cl.stop(timeout=5) == 0, cl.log_tail()
    assert gw.stop(timeout=5) == 0, gw.log_tail()
    assert not topo.mn.has_link("m6t0") and not topo.gw.has_link("m6tgw0")
    assert "fd00:" not in topo.mn.addrs6() and "fd00:" not in topo.gw.routes6()
    assert topo.mn.routes6().strip() == "", topo.mn.routes6()
    assert {ns.role: ns.snapshot() for ns in (topo.mn, topo.gw)} == before
    assert not list(claims.glob("*.lock")), "claim left behind"
    # The gateway saved its states at the stop, as the user, readable by it alone.
    saved = privdir / "gw-state" / "gateway-m6tgw0.state"
    assert saved.stat().st_uid == user.pw_uid and saved.stat().st_mode & 0o777 == 0o600
    assert not gw.control.exists() and not cl.control.exists(), "control socket left behind"
    for d in (gw, cl):
        log = d.read_log()
        assert "Operation not permitted" not in log and " warn" not in log, d.log_tail()


def test_unknown_user_fails_the_start_with_nothing_installed(topo):
    before = topo.gw.snapshot()
    cp = topo.gw.run([topo.m6t_bin, "gateway", "--listen", f"{T.GW_OUT}:{T.GW_PORT}",
                      "--prefix", topo.ula, "--home-agent", T.HA_ADDR,
                      "--control", str(topo.rundir / "x.sock"), "--user", "m6t-no-such-user"],
                     check=False, timeout=10)
    assert cp.returncode == 2, cp
    assert "--user m6t-no-such-user: no such user 'm6t-no-such-user'" in cp.stderr
    assert topo.gw.snapshot() == before
    assert not (topo.rundir / "x.sock").exists()
