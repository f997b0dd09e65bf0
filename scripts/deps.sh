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

root=$(cd "$(dirname "$0")/.." && pwd)

# extract_from_deb PACKAGE FILE...: copies FILEs (paths inside the package) of Debian's PACKAGE
# into build/tools without installing it (so none of its services ever starts on the host).
extract_from_deb() {
  local pkg=$1 tmp
  shift
  echo "== extracting $* from Debian's $pkg package"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get download -q "$pkg"; })
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  mkdir -p "$root/build/tools"
  for f in "$@"; do cp "$tmp/x/$f" "$root/build/tools/"; done
  rm -rf "$tmp"
}

# promtool (tests/integration/test_show.py checks the metrics with it), from the prometheus
# package, whose server the tests never run.
if [ ! -x "$root/build/tools/promtool" ] && ! command -v promtool >/dev/null; then
  extract_from_deb prometheus usr/bin/promtool
fi
# BIRD 2 (tests/integration/test_failover.py runs one per gateway and router namespace).
if [ ! -x "$root/build/tools/bird" ]; then
  extract_from_deb bird2 usr/sbin/bird usr/sbin/birdcl
fi
