#!/usr/bin/env bash
# The core library is the protocol alone: it must not depend on the OS layer (CMake graph),
# call into the kernel or read clocks or randomness (undefined symbols), or hold mutable
# global state (data symbols). Usage: core_purity.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
lib="$build/libm6t_core.a"
[ -f "$lib" ] || { echo "missing $lib"; exit 1; }
fail=0

# 1. Target graph: m6t_core links nothing.
dot=$(mktemp -d)
trap 'rm -rf "$dot"' EXIT
(cd "$dot" && cmake --graphviz=g.dot "$build" >/dev/null)
deps_file="$dot/g.dot.m6t_core"
if [ -f "$deps_file" ] && grep -q -- '->' "$deps_file"; then
  echo "m6t_core has link dependencies:"; grep -- '->' "$deps_file"; fail=1
fi

# 2. No syscall wrappers, clocks or randomness among the symbols it needs.
forbidden='^(socket|bind|connect|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|read|write|open|open64|openat|close|ioctl|poll|epoll_.*|select|clock_gettime|gettimeofday|time|getrandom|rand|random|srand|arc4random|getpid|fork|exec.*|system|getenv|syscall|nanosleep|usleep|sleep)$'
bad=$(nm -u --format=posix "$lib" | awk '{print $1}' | sed 's/@.*//' | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then echo "m6t_core calls into the OS: $bad"; fail=1; fi

# 3. No mutable globals (data/bss symbols), function-local statics included.
# .data.rel.ro holds constants that contain pointers (tables of string_views): read-only.
globals=$(objdump -t "$lib" | grep -E '[[:space:]]\.(data|bss)[^[:space:]]*[[:space:]]' |
  grep -v '\.data\.rel\.ro' | grep -v 'DW\.ref\.' | grep -E '[[:space:]]O[[:space:]]' | awk '{print $NF}' | c++filt || true)
if [ -n "$globals" ]; then echo "m6t_core has mutable globals:"; echo "$globals"; fail=1; fi

# 4. No OS headers in its sources.
hdrs=$(grep -nE '#include <(sys/|unistd|fcntl|netinet/|linux/|net/|poll|signal|thread|mutex|random>|ctime)' \
  "$root"/src/core/*.h "$root"/src/core/*.cc || true)
if [ -n "$hdrs" ]; then echo "m6t_core includes OS headers:"; echo "$hdrs"; fail=1; fi
if grep -nE '::now\(' "$root"/src/core/*.h "$root"/src/core/*.cc; then
  echo "m6t_core reads a clock"; fail=1
fi

[ "$fail" = 0 ] && echo "core purity: ok"
exit "$fail"
