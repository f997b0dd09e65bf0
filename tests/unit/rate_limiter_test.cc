#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using testing::v4;

RateLimiter make(double rate, std::uint32_t burst, std::uint32_t max = 1024) {
  return RateLimiter(RateLimitConfig{rate, burst, max}, SipKey{1, 2});
}

TEST(RateLimiter, AllowsTheBurstThenTheRate) {
  auto rl = make(10, 5);  // one token per 100 ms, 5 at once
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(0))) << i;
  EXPECT_FALSE(rl.allow(v4("192.0.2.1"), at_ms(0)));
  EXPECT_FALSE(rl.allow(v4("192.0.2.1"), at_ms(99)));
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(100)));
  EXPECT_FALSE(rl.allow(v4("192.0.2.1"), at_ms(150)));
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(200)));
}

TEST(RateLimiter, RefusalsDoNotConsumeTokens) {
  auto rl = make(10, 1);
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(0)));
  for (int t = 1; t < 100; t += 10)
    EXPECT_FALSE(rl.allow(v4("192.0.2.1"), at_ms(t)));
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(100)));
}

TEST(RateLimiter, AddressesAreIndependent) {
  auto rl = make(1, 2);
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(0)));
  EXPECT_TRUE(rl.allow(v4("192.0.2.1"), at_ms(0)));
  EXPECT_FALSE(rl.allow(v4("192.0.2.1"), at_ms(0)));
  EXPECT_TRUE(rl.allow(v4("192.0.2.2"), at_ms(0)));
}

TEST(RateLimiter, FullBucketsAreForgotten) {
  auto rl = make(10, 3);
  rl.allow(v4("192.0.2.1"), at_ms(0));
  rl.allow(v4("192.0.2.2"), at_ms(100));
  EXPECT_EQ(rl.size(), 2u);
  // 192.0.2.1 is full again 300 ms after its last use: the next call forgets it.
  rl.allow(v4("192.0.2.3"), at_ms(300));
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, TableIsBoundedAndEvictsTheLeastRecent) {
  auto rl = make(1, 1, 4);
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_TRUE(rl.allow(Ipv4Addr{0xc0000200 + i}, at_ms(0)));
  EXPECT_TRUE(rl.allow(Ipv4Addr{0xc0000210}, at_ms(1)));
  EXPECT_EQ(rl.size(), 4u);
  EXPECT_EQ(rl.evictions(), 1u);
  // The most recent ones are still limited; the evicted one (.0) starts afresh.
  EXPECT_FALSE(rl.allow(Ipv4Addr{0xc0000203}, at_ms(2)));
  EXPECT_TRUE(rl.allow(Ipv4Addr{0xc0000200}, at_ms(2)));
}

}  // namespace
}  // namespace m6t::core
