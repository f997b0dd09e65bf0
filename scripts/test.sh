#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: format and purity checks, unit,
# scenario and OS-adapter tests (plain and under ASan/UBSan), a short run of every fuzz
# target, and the network-namespace integration tests with the real binaries (root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)
step() { echo; echo "== $* ($(($(date +%s) - start)) s)"; }

step "dependencies"
bash scripts/deps.sh
step "build (release and sanitizers)"
bash scripts/build.sh all
step "checks, unit, scenario and OS tests"
ctest --test-dir build --output-on-failure -j2 --timeout 300
step "the same under ASan/UBSan, and the fuzz targets for ${M6T_FUZZ_SECONDS:-10} s each"
cmake -S . -B build-asan -DM6T_FUZZ_SECONDS="${M6T_FUZZ_SECONDS:-10}" >/dev/null
ctest --test-dir build-asan --output-on-failure -j2 --timeout 300 -LE check
if [ -d tests/integration ]; then
  step "integration tests (network namespaces, nftables NAT, real binaries)"
  export M6T_MEASUREMENTS="$root/build/measurements.jsonl"
  rm -f "$M6T_MEASUREMENTS"
  M6T_BIN="$root/build/m6t" /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration
  step "measured by the integration tests (reported, not asserted; see $M6T_MEASUREMENTS)"
  /usr/bin/python3 - "$M6T_MEASUREMENTS" <<'PY'
import json, pathlib, sys
p = pathlib.Path(sys.argv[1])
for line in (p.read_text().splitlines() if p.exists() else []):
    m = json.loads(line)
    print(f"  {m['value']:12.3f} {m['unit']:<6} {m['what']}")
PY
fi
step "all tests passed"
