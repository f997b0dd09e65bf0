"""Scenario 8: stopping the daemons (SIGTERM or SIGINT) leaves no address, route or TUN
device behind, and they exit with status 0."""

import signal

import pytest

import topology as T

pytestmark = pytest.mark.m6t


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_leaves_nothing_behind(topo, sig):
    before = {ns.role: ns.snapshot() for ns in (topo.mn, topo.gw)}
    gw = topo.start_gateway()
    cl = topo.start_client()
    addr = topo.establish(cl)
    assert topo.ha.ping6(addr, 1).ok
    assert topo.mn.has_link("m6t0") and topo.gw.has_link("m6tgw0")
    assert "default dev m6t0" in topo.mn.routes6()
    assert T.ULA_PREFIX.split("/")[0] in topo.gw.routes6()

    rc = cl.stop(timeout=5, sig=sig)
    assert rc == 0, f"client exit status {rc} after {sig.name}\n{cl.log_tail()}"
    rc = gw.stop(timeout=5, sig=sig)
    assert rc == 0, f"gateway exit status {rc} after {sig.name}\n{gw.log_tail()}"

    after = {ns.role: ns.snapshot() for ns in (topo.mn, topo.gw)}
    assert not topo.mn.has_link("m6t0"), topo.mn.links()
    assert not topo.gw.has_link("m6tgw0"), topo.gw.links()
    assert topo.mn.routes6().strip() == "", topo.mn.routes6()
    assert "fd00:" not in topo.mn.addrs6() and "fd00:" not in topo.gw.routes6()
    assert after == before
    assert not cl.control.exists() and not gw.control.exists(), "control socket left behind"
