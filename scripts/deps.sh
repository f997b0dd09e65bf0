#!/usr/bin/env bash
# Installs, from Debian's archive, whatever the build, the demo and the tests need and is
# missing. Safe to run again: it does nothing when everything is there.
set -euo pipefail
packages=(
  # build
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev binutils
  # man pages; the Debian package (scripts/package.sh) and its check
  scdoc debhelper lintian fakeroot dpkg-dev man-db
  # libraries (see README: what each is for)
  libsystemd-dev libcivetweb-dev libmnl-dev libcap-ng-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libbpf-dev bpftool
  linux-libc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # demo and integration tests: namespaces, NAT, traffic
  iproute2 nftables conntrack iputils-ping procps python3 python3-pytest python3-scapy libcap2-bin
  valgrind
  # the interop tests: strongSwan's IKE daemon and user-space ESP (tests/integration/test_ipsec.py)
  strongswan-charon strongswan-swanctl libcharon-extra-plugins
  # the failover tests' BIRD 2 (taken from Debian's bird2 below): its libraries
  libssh-gcrypt-4 libreadline8
  git ca-certificates
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "deps: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# promtool (tests/integration/test_show.py checks the metrics with it) comes with Debian's
# prometheus package, whose server the tests never run: only the binary is taken from it.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$root/build/tools/promtool" ] && ! command -v promtool >/dev/null; then
  echo "== extracting promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get download -q prometheus; })
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  mkdir -p "$root/build/tools"
  cp "$tmp/x/usr/bin/promtool" "$root/build/tools/promtool"
  rm -rf "$tmp"
fi

# BIRD 2 (tests/integration/test_failover.py runs one per gateway and router namespace) comes
# from Debian's bird2 package, whose service the tests must never start on the host: only the
# binaries are taken from it.
if [ ! -x "$root/build/tools/bird" ]; then
  echo "== extracting bird and birdcl from Debian's bird2 package"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q bird2 >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get download -q bird2; })
  dpkg-deb -x "$tmp"/bird2_*.deb "$tmp/x"
  mkdir -p "$root/build/tools"
  cp "$tmp/x/usr/sbin/bird" "$tmp/x/usr/sbin/birdcl" "$root/build/tools/"
  rm -rf "$tmp"
fi
