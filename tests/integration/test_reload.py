"""Reload (SIGHUP) of a running gateway: a listen address added is served at once, one taken
away is closed with its states (their bindings name it, §2.4), the MN's state on the address
that stays survives, and a change that needs a restart is named and not applied."""

from __future__ import annotations

import os
import signal

import pytest

import topology as T

pytestmark = pytest.mark.m6t

GW_OUT2 = "203.0.113.5"


def config(path, listen: list[str], extra: str = "") -> None:
    path.write_text("[gateway]\nlisten = [" + ", ".join(f'"{l}"' for l in listen) + "]\n" + extra)


def test_reload_adds_and_removes_listen_addresses_keeping_states(topo, tmp_path):
    topo.gw.ip("addr", "add", f"{GW_OUT2}/24", "dev", "wan0")
    first, second = f"{T.GW_OUT}:{T.GW_PORT}", f"{GW_OUT2}:{T.GW_PORT}"
    cfg = tmp_path / "gw.toml"
    config(cfg, [first])
    gw = topo.start_gateway(listen=(), extra=["--config", str(cfg)])
    cl = topo.start_client(gateways=(first,))
    a1 = topo.establish(cl)

    def hup_and_wait(what: str) -> str:
        before = gw.read_log().count("configuration reloaded")
        os.kill(gw.pid, signal.SIGHUP)
        topo.wait_until(lambda: gw.read_log().count("configuration reloaded") > before, 10, what)
        return gw.read_log()

    config(cfg, [first, second], "mtu = 1400\n")
    log = hup_and_wait("the reload adding a listen address")
    assert f"listening on {second}" in log
    assert "applied listen" in log and "not applied until a restart: mtu" in log
    g = gw.show_json()
    assert g["listen"] == [first, second] and g["mtu"] == 1472, g["listen"]
    s = topo.gw_state(g, a1)
    assert s and s["kind"] == "active", "the MN's state did not survive the reload"
    assert topo.mn.ping6(T.HA_ADDR, 2).ok

    # A second MN through the new address.
    mn2 = topo.mns[0]
    cl2 = topo.start_client(gateways=(second,), mn_id=2, tun="m6t1", name="client-2")
    a2 = topo.wait_client_address(cl2, timeout=15)
    def second_active():
        mn2.ping6(T.HA_ADDR, 1, source=a2)
        st = topo.gw_state(gw.show_json(), a2)
        return st and st["kind"] == "active"
    topo.wait_until(second_active, 15, "the second MN's state through the new address")
    assert topo.gw_state(gw.show_json(), a2)["local"] == second

    # Taking the first address away closes it, and its states go with it.
    config(cfg, [second])
    log = hup_and_wait("the reload removing a listen address")
    assert f"no longer listening on {first}: 1 state(s) of it removed" in log, log[-2000:]
    g = gw.show_json()
    assert g["listen"] == [second]
    assert topo.gw_state(g, a1) is None
    assert topo.gw_state(g, a2) is not None, "the other address's state went too"
    assert f"{T.GW_OUT}:{T.GW_PORT}" not in topo.gw.out(["ss", "-Huln"])
