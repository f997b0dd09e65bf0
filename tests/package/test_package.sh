#!/usr/bin/env bash
# The Debian package as a user gets it: built by scripts/package.sh, installed with apt, the
# binary, man pages, completion, units, conffiles and the m6t account in place; then purged,
# leaving nothing (no file of the package, no /etc/m6t, no account). Needs root; a host where
# m6t is already installed is left alone (the test fails instead of touching it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "test_package: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (apt install and purge)"
if dpkg-query -W -f='${Status}' m6t 2>/dev/null | grep -q "ok installed"; then
  fail "m6t is already installed on this host: not replacing it"
fi
[ ! -e /etc/m6t ] || fail "/etc/m6t exists before the installation: not touching it"
[ ! -e /run/m6t ] || fail "/run/m6t exists before the installation (a daemon running?): not touching it"
[ ! -e /var/lib/m6t ] || fail "/var/lib/m6t exists before the installation: not touching it"

bash "$root/scripts/package.sh" >/dev/null
deb=$(ls "$root"/build/m6t_*.deb | head -1)
lintian_report=$(grep -E '^[EW]:' "$root/build/lintian.txt" || true)
[ -z "$lintian_report" ] || fail "lintian errors or warnings: $lintian_report"

purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -q m6t >/dev/null 2>&1 || true; }
trap purge EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >/dev/null
files=$(dpkg -L m6t)

expected_version=$(dpkg-deb -f "$deb" Version)
got=$(/usr/bin/m6t --version)
[ "$got" = "m6t $expected_version" ] || fail "m6t --version says '$got', not 'm6t $expected_version'"
man -w m6t | grep -q '/usr/share/man/man8/m6t.8' || fail "man -w m6t finds no m6t(8)"
man -w 5 m6t.toml | grep -q 'man5/m6t.toml.5' || fail "man -w 5 m6t.toml finds no m6t.toml(5)"
for f in /lib/systemd/system/m6t-gateway.service /lib/systemd/system/m6t-client@.service \
  /usr/share/bash-completion/completions/m6t /usr/share/doc/m6t/examples/gateway.toml \
  /usr/share/doc/m6t/examples/client.toml /usr/share/doc/m6t/examples/cluster.toml \
  /usr/share/doc/m6t/examples/strongswan/mn/swanctl.conf \
  /usr/share/doc/m6t/examples/strongswan/ha/swanctl.conf /usr/share/doc/m6t/examples/umip/mip6d-mn.conf \
  /usr/lib/sysusers.d/m6t.conf /usr/lib/tmpfiles.d/m6t.conf; do
  [ -f "$f" ] || fail "$f is not installed"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' m6t)
for f in /etc/m6t/gateway.toml /etc/m6t/client.toml; do
  echo "$conffiles" | grep -q " $f " || fail "$f is not a conffile"
done
getent passwd m6t >/dev/null || fail "the m6t account was not created"
[ "$(getent passwd m6t | cut -d: -f7)" = /usr/sbin/nologin ] || fail "m6t has a login shell"
[ "$(stat -c %U /run/m6t 2>/dev/null)" = m6t ] || fail "/run/m6t was not created for m6t (tmpfiles.d)"
# The shipped configuration is valid TOML whose required keys are left to the admin.
out=$(/usr/bin/m6t gateway 2>&1) && fail "an unconfigured gateway started"
echo "$out" | grep -q "missing --listen" || fail "an unconfigured gateway says '$out', not what is missing"

# What a gateway leaves in its StateDirectory= (its saved states) goes with the purge.
install -d -m 0700 -o m6t -g m6t /var/lib/m6t
install -m 0600 -o m6t -g m6t /dev/null /var/lib/m6t/gateway-m6tgw0.state
purge
trap - EXIT
if dpkg-query -W -f='${Status}' m6t 2>/dev/null | grep -q "installed"; then
  fail "m6t still installed after purge"
fi
left=""
while IFS= read -r f; do
  [ -d "$f" ] && continue  # shared directories (/usr/bin...) stay
  [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <<<"$files"
[ -z "$left" ] || fail "left after purge:$left"
[ ! -e /etc/m6t ] || fail "/etc/m6t left after purge"
[ ! -e /run/m6t ] || fail "/run/m6t left after purge"
[ ! -e /var/lib/m6t ] || fail "/var/lib/m6t left after purge"
[ ! -e /usr/share/doc/m6t ] || fail "/usr/share/doc/m6t left after purge"
! getent passwd m6t >/dev/null || fail "the m6t account is left after purge"
! getent group m6t >/dev/null || fail "the m6t group is left after purge"
echo "test_package: ok ($deb: installed, checked, purged, nothing left)"
