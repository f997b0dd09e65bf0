#!/usr/bin/env bash
# The m6t binary holds no test fake: the fakes live in src/os/fakes/, which only tests and fuzz
# targets link. Usage: no_fakes_in_binary.sh BUILD_DIR
set -euo pipefail
bin="$1/m6t"
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
symbols=$(nm -C "$bin")
# The check must see the symbols it looks for: a stripped binary would pass for nothing.
grep -q 'm6t::os::open_tun' <<<"$symbols" || { echo "$bin has no symbols to check"; exit 1; }
if fakes=$(grep -E 'm6t::[a-z:]*Fake[A-Z]' <<<"$symbols"); then
  echo "the m6t binary contains fakes:"; head -20 <<<"$fakes"; exit 1
fi
echo "no fakes in $bin"
