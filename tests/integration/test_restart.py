"""A gateway restart loses no MN: the active states are saved at the stop (and every
--state-save-s) under --state-dir and restored at the next start (core/state_file.h), so that an
idle MN is reachable from the HA again as soon as the gateway is back, with no new attachment
and no new address.  A missing, stale, truncated or corrupt file gives one log line and an empty
table, and the gateway serves as usual."""

import ipaddress
import signal
import time

import pytest

import topology as T

pytestmark = pytest.mark.m6t


def state_file(topo, name="gateway"):
    return topo.state_dir(name) / "gateway-m6tgw0.state"


def attachments(cl):
    return [(h["change"], h["reason"], h["address"], h["at_unix"]) for h in cl.show_json()["history"]]


def lines_with(d, text):
    return [line for line in d.read_log().splitlines() if text in line]


def test_restart_restores_the_active_states_and_an_idle_mn_is_reachable_at_once(topo, measure):
    gw = topo.start_gateway()
    cl = topo.start_client()  # keepalives every 30 s: idle during the whole test
    addr = topo.establish(cl)
    s1 = topo.gw_state(gw.show_json(), addr)
    assert s1 and s1["kind"] == "active", s1
    history = attachments(cl)

    assert gw.stop(timeout=5) == 0, gw.log_tail()
    f = state_file(topo)
    assert f.stat().st_mode & 0o777 == 0o600, oct(f.stat().st_mode)
    assert f.parent.stat().st_mode & 0o777 == 0o700
    assert lines_with(gw, "saved 1 active state(s)"), gw.log_tail()

    t0 = time.monotonic()
    gw2 = topo.start_gateway()
    ready = time.monotonic() - t0
    # The HA reaches the MN before the MN has sent anything to the new process.
    r = topo.ha.ping6(addr, 1, wait_s=2)
    measure("gateway start -> HA reaches the idle MN", time.monotonic() - t0)
    measure("gateway start -> ready", ready)
    assert r.ok, f"HA -> idle MN right after the restart:\n{r.output}\n{topo.logs()}"
    g = gw2.show_json()
    s2 = topo.gw_state(g, addr)
    assert s2 and s2["kind"] == "active", g["states"]
    assert s2["nat"] == s1["nat"], "the binding must be the saved one (section 2.4)"
    assert g["state_stats"]["restored"] == 1 and g["state_stats"]["created"] == 0, g["state_stats"]
    if g["fast_path"]["active"]:
        assert g["fast_path"]["mirrored_states"] == 1, g["fast_path"]
    restored = lines_with(gw2, "restored 1 active state(s) of 1")
    assert len(restored) == 1, gw2.log_tail()
    # The client saw nothing: same address, no new attachment.
    c = cl.show_json()
    assert ipaddress.IPv6Address(c["address"]) == ipaddress.IPv6Address(addr)
    assert attachments(cl) == history, c["history"]
    assert topo.mn.ping6(T.HA_ADDR, 3).all_ok


def test_a_missing_stale_truncated_or_corrupt_file_gives_one_line_and_an_empty_table(topo):
    f = state_file(topo)
    gw = topo.start_gateway(extra=["--active-lifetime-s", "2"])
    assert len(lines_with(gw, "no saved states")) == 1, gw.log_tail()  # the first start
    topo.establish(topo.start_client())
    assert gw.stop(timeout=5) == 0
    good = f.read_bytes()

    # Stale: the state's lifetime ran out while the gateway was away.
    time.sleep(2.5)
    gw = topo.start_gateway(extra=["--active-lifetime-s", "2"])
    assert len(lines_with(gw, "restored 0 active state(s) of 1")) == 1, gw.log_tail()
    assert "1 expired meanwhile" in lines_with(gw, "restored 0")[0]
    assert gw.show_json()["states_total"] == 0
    assert gw.stop(timeout=5) == 0

    # Damaged files: each one warning, nothing restored, the gateway serves.
    for what, data, reason in (("truncated", good[:-5], "bad_length"),
                               ("corrupt", good[:40] + bytes([good[40] ^ 0xFF]) + good[41:],
                                "bad_checksum"),
                               ("not ours", b"hello, world" * 10, "bad_magic"),
                               ("empty", b"", "too_short")):
        f.write_bytes(data)
        gw = topo.start_gateway()
        lines = lines_with(gw, "not restored")
        assert len(lines) == 1 and f"({reason})" in lines[0] and "starting with no state" \
            in lines[0], (what, gw.log_tail())
        g = gw.show_json()
        assert g["states_total"] == 0 and g["state_stats"]["restored"] == 0, (what, g)
        # It serves: the MN's next packet creates a state and the HA's answer activates it.
        assert topo.mn.wait_ping6(T.HA_ADDR, timeout=10).ok, what
        assert gw.poll() is None, (what, gw.log_tail())
        assert gw.stop(timeout=5) == 0, what
    # What the last stop saved is a good file again.
    assert f.read_bytes()[:8] == b"M6TSTATE"


def test_a_stop_with_drain_serves_on_and_a_second_signal_ends_it_at_once(topo):
    gw = topo.start_gateway(extra=["--drain-ms", "5000"])
    cl = topo.start_client()
    addr = topo.establish(cl)
    gw.signal(signal.SIGTERM)
    topo.wait_until(lambda: lines_with(gw, "draining for 5000 ms"), 5, "the drain to begin")
    # Draining: still serving, both ways.
    assert topo.ha.ping6(addr, 2).all_ok, "HA -> MN during the drain"
    assert gw.poll() is None
    t0 = time.monotonic()
    gw.signal(signal.SIGTERM)
    assert gw.wait(5) == 0
    assert time.monotonic() - t0 < 2, "the second signal must end the drain"
    assert lines_with(gw, "saved 1 active state(s)"), gw.log_tail()
