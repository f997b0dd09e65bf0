#!/usr/bin/env bash
# Installs what is missing, builds m6t, and runs the demo: an MN behind a real nftables NAT
# reaches its home agent through the m6t gateway, in network namespaces removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
bash scripts/build.sh release
exec /usr/bin/python3 scripts/demo.py --m6t "$root/build/m6t"
