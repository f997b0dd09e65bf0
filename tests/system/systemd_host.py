"""A real systemd (PID 1 of a PID and mount namespace of its own) inside one of a topology's
network namespaces, for the tests of m6t's units and package.

It boots on an overlay of the host's root (lower: /, upper: a private directory), so that
what it writes (the package it installs, its journal, the boot-time clean-up of /tmp that it
would otherwise run on the host's /tmp) lands in the upper layer only; /run and /tmp are
tmpfs of its own; /proc/sys is read-only (the daemons only read it, and the kernel-wide
settings there are the host's); every unit that would act on the host's devices, kernel or
clock, and every service the host enables, is masked. Stopped with SIGRTMIN+4 (poweroff),
its mounts and processes go with its namespaces; the directories are then removed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
IP = shutil.which("ip") or "/usr/sbin/ip"

# Units that would touch the host (devices, kernel settings and modules, the clock, the
# console) or that need a real machine.
MASKED = [
    "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service", "systemd-udev-settle.service", "systemd-sysctl.service",
    "systemd-modules-load.service", "systemd-timesyncd.service", "systemd-pstore.service",
    "kmod-static-nodes.service", "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-setup-dev-early.service", "systemd-remount-fs.service",
    "systemd-fsck-root.service", "systemd-hwdb-update.service", "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount", "apparmor.service", "console-setup.service",
    "keyboard-setup.service", "setvtrgb.service", "getty.target", "getty@tty1.service",
    "serial-getty@.service", "systemd-logind.service", "systemd-journal-catalog-update.service",
    "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount", "dev-hugepages.mount", "dev-mqueue.mount",
    "systemd-repart.service", "systemd-pcrphase-sysinit.service", "systemd-pcrphase.service",
    "systemd-journald-audit.socket",
]

BOOT = r"""#!/bin/sh
set -e
U=$1 W=$2 M=$3
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/,upperdir="$U",workdir="$W" "$M"
mount -t proc proc "$M/proc"
mount --bind "$M/proc/sys" "$M/proc/sys"
mount -o remount,bind,ro "$M/proc/sys"
mount -t sysfs sysfs "$M/sys"
mount --rbind /dev "$M/dev"
mount -t tmpfs tmpfs "$M/run"
mount -t tmpfs tmpfs "$M/tmp"
exec chroot "$M" /usr/bin/systemd --system --log-target=console --show-status=no
"""


def _host_enabled_units() -> list[str]:
    """Every unit the host enables through a .wants directory: not ours to start."""
    out = []
    for wants in Path("/etc/systemd/system").glob("*.wants"):
        out += [p.name for p in wants.iterdir()]
    return out


class SystemdHost:
    def __init__(self, netns: str, workdir: Path, name: str):
        self.netns, self.name = netns, name
        self.base = Path(tempfile.mkdtemp(prefix=f"m6t-sd-{name}-", dir="/var/tmp"))
        self.upper, self.work, self.merged = (self.base / d for d in ("upper", "work", "merged"))
        for d in (self.upper, self.work, self.merged):
            d.mkdir()
        self.log = workdir / f"systemd-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None  # systemd, as the host sees it

    # --- life ---------------------------------------------------------------------------------
    def boot(self, timeout: float = 60) -> None:
        etc = self.upper / "etc" / "systemd" / "system"
        etc.mkdir(parents=True)
        for unit in sorted(set(MASKED + _host_enabled_units()) - {"m6t-gateway.service"}):
            (etc / unit).symlink_to("/dev/null")
        script = self.base / "boot.sh"
        script.write_text(BOOT)
        script.chmod(0o755)
        self.proc = subprocess.Popen(
            [IP, "netns", "exec", self.netns, UNSHARE, "--fork", "--pid", "--mount", "--uts",
             "--kill-child", str(script), str(self.upper), str(self.work), str(self.merged)],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pid = self._find_pid1()
            if self.pid:
                st = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
                if st in ("running", "degraded"):
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd ({self.name}) exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.5)
        raise AssertionError(f"systemd ({self.name}) not up within {timeout} s")

    def _find_pid1(self) -> int | None:
        """The systemd process: unshare's child, PID 1 of its namespace."""
        if not self.proc:
            return None
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            for child in task.read_text().split():
                # ip netns exec -> unshare -> systemd: unshare may be our direct child or one
                # level below.
                comm = Path(f"/proc/{child}/comm").read_text().strip()
                if comm == "systemd":
                    return int(child)
                for t2 in Path(f"/proc/{child}/task").glob("*/children"):
                    for c2 in t2.read_text().split():
                        if Path(f"/proc/{c2}/comm").read_text().strip() == "systemd":
                            return int(c2)
        return None

    def poweroff(self, timeout: float = 30) -> None:
        try:
            if self.pid:
                os.kill(self.pid, signal.SIGRTMIN + 4)
            if self.proc:
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # --- talking to it --------------------------------------------------------------------------
    def run(self, argv: list[str], *, check: bool = True, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        assert self.pid
        r = subprocess.run([NSENTER, "-t", str(self.pid), "-a", "-r", "-w", *argv],
                           capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} in systemd {self.name}: exit "
                                 f"{r.returncode}: {r.stdout}{r.stderr}")
        return r

    def write(self, path: str, text: str) -> None:
        self.run(["sh", "-c", f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}'"],
                 input=text)

    def install(self, deb: Path) -> None:
        """dpkg -i inside (its dependencies are the host's, which the overlay shows)."""
        # Through its root (the overlay does not see files put into its upper layer once it
        # is mounted).
        inside = f"/var/cache/m6t-test/{deb.name}"
        assert self.pid
        subprocess.run([NSENTER, "-t", str(self.pid), "-a", "-r", "-w", "sh", "-c",
                        f"mkdir -p /var/cache/m6t-test && cat > {inside}"],
                       input=deb.read_bytes(), check=True, timeout=60)
        self.run(["dpkg", "-i", inside], timeout=120)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.run(["systemctl", "show", unit, *[f"-p{p}" for p in props]]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str) -> list[dict]:
        out = self.run(["journalctl", "-u", unit, "-o", "json", "--no-pager"], check=False).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait(self, what: str, cond, timeout: float = 20, interval: float = 0.3):
        end = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > end:
                raise AssertionError(f"systemd {self.name}: {what}: not within {timeout} s")
            time.sleep(interval)
