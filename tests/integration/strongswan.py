"""strongSwan's IKE daemon (charon) and swanctl in a test namespace (tests/integration/test_ipsec.py).

Debian 12's charon, unmodified, with the settings of examples/strongswan/strongswan.conf
(user-space ESP: this kernel has none) and the connections of examples/strongswan/ROLE/swanctl.conf,
both included as they are.  What is per instance:

- its own strongswan.conf (``STRONGSWAN_CONF``) that includes the example and adds a log file and
  a vici socket in the topology's run directory;
- its own /run: charon's pid file is fixed at /var/run/charon.pid, so each charon runs in a mount
  namespace of its own with a private tmpfs there (namespaces share the file system).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import topology as T

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = shutil.which("swanctl") or "/usr/sbin/swanctl"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
EXAMPLES = T.REPO / "examples" / "strongswan"


def missing() -> str | None:
    """What is not installed, or None (scripts/deps.sh installs it)."""
    for path in (CHARON, SWANCTL, "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"):
        if not Path(path).exists():
            return (f"{path} is missing: install strongswan-charon, strongswan-swanctl and "
                    f"libcharon-extra-plugins (scripts/deps.sh does)")
    return None


def parse_vici(text: str) -> list[dict[str, Any]]:
    """``swanctl --list-sas --raw`` output: one ``list-sa event {...}`` line per IKE SA, in
    vici's text form (``name {``, ``key=value``, ``key=[a b]``, ``}``).  Returns the events'
    bodies as nested dicts."""
    events = []
    tokens = re.findall(r"[^\s{}\[\]=]+=\[[^\]]*\]|[^\s{}=]+=[^\s{}]*|[^\s{}]+|[{}]", text)
    i = 0

    def section() -> dict[str, Any]:
        nonlocal i
        out: dict[str, Any] = {}
        while i < len(tokens) and tokens[i] != "}":
            tok = tokens[i]
            if "=" in tok:
                k, v = tok.split("=", 1)
                out[k] = v[1:-1].split() if v.startswith("[") else v
                i += 1
            elif i + 1 < len(tokens) and tokens[i + 1] == "{":
                i += 2
                out[tok] = section()
                i += 1  # the closing brace
            else:
                i += 1
        return out

    while i < len(tokens):
        if tokens[i] == "event" and i + 1 < len(tokens) and tokens[i + 1] == "{" \
                and i > 0 and tokens[i - 1] == "list-sa":
            i += 2
            events.append(section())
            i += 1
        else:
            i += 1
    return events


class Charon:
    """One charon with its connections loaded (``role`` "mn" or "ha" picks the example)."""

    def __init__(self, topo: T.Topology, ns: T.Namespace, role: str):
        self.topo, self.ns, self.role = topo, ns, role
        self.dir = topo.rundir / f"charon-{role}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.vici = self.dir / "charon.vici"
        self.log = topo.workdir / f"charon-{role}.log"
        self.conf = self.dir / "strongswan.conf"
        self.conf.write_text(
            f"include {EXAMPLES / 'strongswan.conf'}\n"
            "charon {\n"
            "    filelog {\n"
            f"        file {{\n            path = {self.log}\n            time_format = %T\n"
            "            default = 1\n            ike = 2\n            knl = 2\n        }\n"
            "    }\n"
            f"    plugins {{\n        vici {{\n            socket = unix://{self.vici}\n"
            "        }\n    }\n"
            "}\n"
            # swanctl needs none of the plugins it tries by default (PSK only).
            "swanctl {\n    load = pem\n}\n")
        self.proc = ns.spawn(f"charon-{role}", [
            "env", f"STRONGSWAN_CONF={self.conf}", UNSHARE, "--mount", "--propagation",
            "private", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs /run && exec {CHARON}"])
        topo.wait_until(lambda: self._alive() and self.vici.exists(), 10,
                        f"charon ({role}) listening on {self.vici}")

    def _alive(self) -> bool:
        if not self.proc.alive():
            raise T.DaemonExited(f"charon ({self.role}) exited\n{self.proc.log_tail()}\n"
                                 f"{T.tail(self.log)}")
        return True

    def swanctl(self, *args: str, timeout: float = 30) -> str:
        cp = self.ns.run(["env", f"STRONGSWAN_CONF={self.conf}", SWANCTL, *args, "--uri",
                          f"unix://{self.vici}"], check=False, timeout=timeout)
        if cp.returncode != 0:
            raise AssertionError(f"swanctl {' '.join(args)} ({self.role}) failed "
                                 f"({cp.returncode}):\n{cp.stdout}{cp.stderr}\n{T.tail(self.log)}")
        return cp.stdout

    def load(self, conf: Path | None = None) -> str:
        return self.swanctl("--load-all", "--file", str(conf or EXAMPLES / self.role / "swanctl.conf"))

    def sas(self) -> dict[str, dict[str, Any]]:
        """The IKE SAs by connection name."""
        out: dict[str, dict[str, Any]] = {}
        for ev in parse_vici(self.swanctl("--list-sas", "--raw")):
            out.update(ev)
        return out

    def child(self, conn: str, child: str) -> dict[str, Any] | None:
        """The installed CHILD SA ``child`` of ``conn``'s established IKE SA, or None."""
        ike = self.sas().get(conn)
        if not ike or ike.get("state") != "ESTABLISHED":
            return None
        for c in ike.get("child-sas", {}).values():
            if c.get("name") == child and c.get("state") == "INSTALLED":
                return {**c, "ike": ike}
        return None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""
