#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "os/clock.h"
#include "os/random.h"
#include "os/result.h"

namespace m6t::os {
namespace {

TEST(Clock, MonoNowFollowsClockMonotonic) {
  timespec ts{};
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  const std::int64_t before = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
  const core::Time now = mono_now();
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  const std::int64_t after = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
  EXPECT_GE(now.time_since_epoch().count(), before);
  EXPECT_LE(now.time_since_epoch().count(), after);
}

TEST(Clock, BootMinusMonoMatchesKernelClocks) {
  timespec m{}, b{};
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &m), 0);
  ASSERT_EQ(::clock_gettime(CLOCK_BOOTTIME, &b), 0);
  const std::int64_t expect = (b.tv_sec - m.tv_sec) * 1'000'000'000LL + (b.tv_nsec - m.tv_nsec);
  const core::Duration d = boot_minus_mono();
  EXPECT_GE(d.count(), 0);
  // Only the microseconds between the reads may differ (the host does not sleep meanwhile).
  EXPECT_LT(std::llabs(d.count() - expect), 5'000'000LL);
}

TEST(SystemRandom, FillsLargeBuffersWithDistinctBytes) {
  SystemRandom rng;
  std::vector<std::uint8_t> a(1 << 20, 0), b(1 << 20, 0);
  rng.fill(a);
  rng.fill(b);
  EXPECT_NE(a, b);
  // Every byte value shows up in 1 MiB of uniform data (missing one: p ~ 256 * e^-4096).
  std::array<bool, 256> seen{};
  for (std::uint8_t x : a)
    seen[x] = true;
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool s) { return s; }));
  // The tail is filled too (a short read must not leave zeros behind).
  EXPECT_FALSE(std::all_of(a.end() - 64, a.end(), [](std::uint8_t x) { return x == 0; }));
  rng.fill({});  // empty: nothing to do, no abort
}

TEST(Result, ErrnoErrorFormatsWhatAndReason) {
  EXPECT_EQ(errno_error("open /dev/net/tun", ENODEV).message, "open /dev/net/tun: No such device");
  errno = ENOENT;
  EXPECT_EQ(errno_error("open x").message, "open x: No such file or directory");
}

}  // namespace
}  // namespace m6t::os
