#!/usr/bin/env bash
# Fails when any C++ source differs from what clang-format (.clang-format at the root) makes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cc' '*.h' | grep -v '^fuzz/corpus/')
[ "${#files[@]}" -gt 0 ] || { echo "no sources found"; exit 1; }
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
