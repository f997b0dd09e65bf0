#!/usr/bin/env bash
# Tests, tools, benchmarks and scripts use documentation and benchmarking addresses only
# (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32, fd00::/8):
# fails on any IPv4 literal inside the private ranges of RFC 1918, which belong to real
# networks, even inside namespaces.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- tests tools bench scripts examples docs README.md |
  grep -v '/corpus/')
[ "${#files[@]}" -gt 0 ] || { echo "no files found"; exit 1; }
octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
private="(10\.$octet|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.$octet(\.$octet)?"
if hits=$(grep -nHE "(^|[^0-9.])$private([^0-9]|\$)" "${files[@]}"); then
  echo "private-range IPv4 literals (use 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or"
  echo "198.18.0.0/15 instead):"
  echo "$hits"
  exit 1
fi
echo "addresses: ${#files[@]} files use documentation and benchmarking ranges only"
