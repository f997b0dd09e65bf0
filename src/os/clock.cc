#include "os/clock.h"

#include <time.h>

namespace m6t::os {
namespace {

std::int64_t read_ns(clockid_t id) {
  timespec ts{};
  // Cannot fail for these clocks on any Linux the daemons run on (both exist since 2.6.39).
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

core::Time mono_now() {
  return core::Time{core::Duration{read_ns(CLOCK_MONOTONIC)}};
}

core::Duration boot_minus_mono() {
  // Read MONOTONIC on both sides of BOOTTIME and average, so the nanoseconds between the two
  // calls do not show up as "slept".
  const std::int64_t m1 = read_ns(CLOCK_MONOTONIC);
  const std::int64_t b = read_ns(CLOCK_BOOTTIME);
  const std::int64_t m2 = read_ns(CLOCK_MONOTONIC);
  const std::int64_t diff = b - (m1 + (m2 - m1) / 2);
  return core::Duration{diff < 0 ? 0 : diff};
}

}  // namespace m6t::os
