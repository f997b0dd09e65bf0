#!/usr/bin/env bash
# Builds the Debian package from debian/ (debhelper) in a copy of the tracked sources, so that
# the checkout stays clean, and leaves it as build/m6t_VERSION_ARCH.deb; then runs lintian on
# it (its report goes to build/lintian.txt and the terminal; it does not fail the build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
work="$root/build/package"
rm -rf "$work"
mkdir -p "$work/src"
# The tracked files as they are in the work tree (committed or not), nothing built.
git ls-files -z --cached --others --exclude-standard | grep -zv '^fuzz/corpus/' |
  xargs -0 cp --parents -t "$work/src" 2>/dev/null || true
cp -a debian "$work/src/"
(cd "$work/src" && dpkg-buildpackage -b -uc -us --no-sign -j"$(nproc)" >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "package: dpkg-buildpackage failed (log: $work/build.log)" >&2
  exit 1
}
deb=$(ls "$work"/m6t_*.deb)
cp "$deb" "$root/build/"
out="$root/build/$(basename "$deb")"
echo "package: $out"
lintian --info "$out" | tee "$root/build/lintian.txt" || true
