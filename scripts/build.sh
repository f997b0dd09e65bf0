#!/usr/bin/env bash
# build.sh [release|sanitize|all]
#   release:  build/       g++, RelWithDebInfo: the m6t binary, unit/scenario/os tests, benchmarks
#   sanitize: build-asan/  clang, ASan + UBSan, with the libFuzzer targets
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
jobs=$(nproc)
if [ "$what" = release ] || [ "$what" = all ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build -j"$jobs"
fi
if [ "$what" = sanitize ] || [ "$what" = all ]; then
  CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DM6T_SANITIZE=ON -DM6T_FUZZ=ON >/dev/null
  ninja -C build-asan -j"$jobs"
fi
