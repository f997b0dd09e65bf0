"""--gateway by host name: resolved by the client at each attachment (a new IPv4 network),
off its loop. The MN's namespace gets its own /etc/hosts (ip netns exec bind-mounts
/etc/netns/NS/hosts over /etc/hosts for what it starts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import topology as T

pytestmark = pytest.mark.m6t

NAME = "gw.m6t.test"
GW_OUT2 = "203.0.113.5"


def hosts(ns: T.Namespace, addr: str | None) -> None:
    d = Path("/etc/netns") / ns.name
    d.mkdir(parents=True, exist_ok=True)
    (d / "hosts").write_text("127.0.0.1 localhost\n" + (f"{addr} {NAME}\n" if addr else ""))


def test_a_gateway_name_is_resolved_at_each_attachment(topo):
    try:
        topo.gw.ip("addr", "add", f"{GW_OUT2}/24", "dev", "wan0")
        gw = topo.start_gateway(listen=(f"{T.GW_OUT}:{T.GW_PORT}", f"{GW_OUT2}:{T.GW_PORT}"))
        hosts(topo.mn, T.GW_OUT)
        cl = topo.start_client(gateways=(f"{NAME}:{T.GW_PORT}",))
        a1 = topo.establish(cl)
        c = cl.show_json()
        assert c["gateways_configured"] == [f"{NAME}:{T.GW_PORT}"]
        assert c["gateway"] == f"{T.GW_OUT}:{T.GW_PORT}", c["gateway"]
        s1 = topo.gw_state(gw.show_json(), a1)
        assert s1 and s1["local"] == f"{T.GW_OUT}:{T.GW_PORT}"

        # The operator moves the name; the MN's next attachment (a new IPv4 address) uses it.
        hosts(topo.mn, GW_OUT2)
        topo.change_mn_ipv4()
        a2 = topo.wait_client_address(cl, timeout=15, different_from=a1)
        topo.wait_until(lambda: cl.show_json()["gateway"] == f"{GW_OUT2}:{T.GW_PORT}", 15,
                        "the client to use the name's new address")
        topo.mn.wait_ping6(T.HA_ADDR, timeout=10)
        s2 = topo.gw_state(gw.show_json(), cl.show_json()["address"])
        assert s2 and s2["local"] == f"{GW_OUT2}:{T.GW_PORT}", s2
        assert a2 != a1

        # A name that no longer resolves keeps its last address, with a warning.
        hosts(topo.mn, None)
        topo.change_mn_ipv4()
        topo.wait_until(lambda: "not resolved" in cl.read_log(), 15, "the resolver's warning")
        topo.mn.wait_ping6(T.HA_ADDR, timeout=15)
        assert cl.show_json()["gateway"] == f"{GW_OUT2}:{T.GW_PORT}"
    finally:
        shutil.rmtree(Path("/etc/netns") / topo.mn.name, ignore_errors=True)
