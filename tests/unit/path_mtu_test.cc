#include "core/path_mtu.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using testing::ipv6_packet;
using testing::v6;
using namespace std::chrono_literals;

PathMtuConfig pmtu_mode(std::uint32_t configured = 1472, Duration age = 600s) {
  return {configured, true, age};
}

TEST(PathMtu, StartsAtTheConfiguredMtuWithDfOnlyInPathMtuMode) {
  PathMtu off = PathMtu::initial({1472, false, 600s});
  EXPECT_EQ(off.mtu, 1472u);
  EXPECT_EQ(off.source, MtuSource::kConfigured);
  EXPECT_FALSE(off.df) << "§2.6: SHOULD NOT set the DF bit";
  EXPECT_FALSE(off.next_deadline());
  PathMtu on = PathMtu::initial(pmtu_mode(1400));
  EXPECT_EQ(on.mtu, 1400u);
  EXPECT_TRUE(on.df);
}

TEST(PathMtu, FragNeededLowersToTheNextHopMinusTheEncapsulation) {
  auto c = pmtu_mode();
  PathMtu p = PathMtu::initial(c);
  EXPECT_EQ(p.on_frag_needed(c, 1400, 1472, at_ms(1000)), PmtuUpdate::kLowered);
  EXPECT_EQ(p.mtu, 1400u - 28u);
  EXPECT_EQ(p.source, MtuSource::kIcmp);
  EXPECT_TRUE(p.df);
  EXPECT_EQ(p.next_deadline(), at_ms(1000) + 600s);
}

TEST(PathMtu, OnlyEverLowers) {
  auto c = pmtu_mode();
  PathMtu p = PathMtu::initial(c);
  EXPECT_EQ(p.on_frag_needed(c, 1500, 1472, at_ms(0)), PmtuUpdate::kNotLower);
  EXPECT_EQ(p.source, MtuSource::kConfigured);
  ASSERT_EQ(p.on_frag_needed(c, 1400, 1472, at_ms(0)), PmtuUpdate::kLowered);
  EXPECT_EQ(p.on_frag_needed(c, 1450, 1472, at_ms(5)), PmtuUpdate::kNotLower);
  EXPECT_EQ(p.mtu, 1372u);
  EXPECT_EQ(p.next_deadline(), at_ms(0) + 600s) << "a stale report does not extend the age";
}

TEST(PathMtu, IgnoredOutsidePathMtuMode) {
  PathMtuConfig c{1472, false, 600s};
  PathMtu p = PathMtu::initial(c);
  EXPECT_EQ(p.on_frag_needed(c, 1400, 1472, at_ms(0)), PmtuUpdate::kDisabled);
  EXPECT_EQ(p.mtu, 1472u);
}

TEST(PathMtu, BelowIpv6MinimumGoesBackToFragmentationAt1280) {
  auto c = pmtu_mode();
  PathMtu p = PathMtu::initial(c);
  EXPECT_EQ(p.on_frag_needed(c, 1200, 1472, at_ms(0)), PmtuUpdate::kFragmenting);
  EXPECT_EQ(p.mtu, 1280u) << "never below IPv6's minimum";
  EXPECT_FALSE(p.df) << "the path cannot carry 1280 + 28 unfragmented";
  EXPECT_EQ(p.source, MtuSource::kIcmp);
  EXPECT_EQ(p.on_frag_needed(c, 600, 1280, at_ms(1)), PmtuUpdate::kNotLower);
  // Exactly 1280 + 28 still fits with DF.
  PathMtu q = PathMtu::initial(c);
  EXPECT_EQ(q.on_frag_needed(c, 1308, 1472, at_ms(0)), PmtuUpdate::kLowered);
  EXPECT_EQ(q.mtu, 1280u);
  EXPECT_TRUE(q.df);
  EXPECT_EQ(q.on_frag_needed(c, 1307, 1280, at_ms(0)), PmtuUpdate::kFragmenting);
}

TEST(PathMtu, ZeroNextHopMtuTakesTheRfc1191PlateauBelowTheDatagram) {
  auto c = pmtu_mode();
  PathMtu p = PathMtu::initial(c);
  // 1472 + 28 = 1500: the plateau below is 1492.
  EXPECT_EQ(p.on_frag_needed(c, 0, 1472, at_ms(0)), PmtuUpdate::kLowered);
  EXPECT_EQ(p.mtu, 1492u - 28u);
  // 1464 + 28 = 1492: next plateau 1006, below 1280 + 28.
  EXPECT_EQ(p.on_frag_needed(c, 0, 1464, at_ms(0)), PmtuUpdate::kFragmenting);
  EXPECT_EQ(plateau_below(69), 68u);
  EXPECT_EQ(plateau_below(10), 68u);
  EXPECT_EQ(tunnel_mtu_for(20), 0u);
}

// The ageing rule, with the fake clock: a learned value holds for exactly `age`, then the path
// is back at the configured MTU with DF set, and the next report lowers it again.
TEST(PathMtu, LearnedValuesAgeOutAndAreProbedUpwardAgain) {
  auto c = pmtu_mode(1472, 600s);
  PathMtu p = PathMtu::initial(c);
  ASSERT_EQ(p.on_frag_needed(c, 1200, 1472, at_ms(10)), PmtuUpdate::kFragmenting);
  Time due = at_ms(10) + 600s;
  EXPECT_FALSE(p.expire(c, due - 1ns));
  EXPECT_EQ(p.mtu, 1280u);
  EXPECT_TRUE(p.expire(c, due));
  EXPECT_EQ(p.mtu, 1472u);
  EXPECT_EQ(p.source, MtuSource::kAged);
  EXPECT_TRUE(p.df) << "probing again: DF back on";
  EXPECT_FALSE(p.next_deadline());
  EXPECT_FALSE(p.expire(c, due + 1000s)) << "nothing left to age";
  // The path is narrow still: the next oversized datagram meets the router again.
  EXPECT_EQ(p.on_frag_needed(c, 1400, 1472, due + 1s), PmtuUpdate::kLowered);
  EXPECT_EQ(p.mtu, 1372u);
  EXPECT_EQ(p.next_deadline(), due + 1s + 600s);
}

TEST(PathMtu, AReportAfterTheAgeStartsFromTheConfiguredMtu) {
  auto c = pmtu_mode(1472, 60s);
  PathMtu p = PathMtu::initial(c);
  ASSERT_EQ(p.on_frag_needed(c, 1350, 1472, at_ms(0)), PmtuUpdate::kLowered);
  // No expire() call in between: the report itself ages the old value first, so a report of a
  // larger MTU than the stale one counts as a lowering from 1472.
  EXPECT_EQ(p.on_frag_needed(c, 1400, 1472, at_ms(0) + 61s), PmtuUpdate::kLowered);
  EXPECT_EQ(p.mtu, 1372u);
}

TEST(PathMtu, SourcesHaveStableNames) {
  EXPECT_EQ(to_string(MtuSource::kConfigured), "configured");
  EXPECT_EQ(to_string(MtuSource::kIcmp), "icmp");
  EXPECT_EQ(to_string(MtuSource::kAged), "aged");
  EXPECT_EQ(to_string(PmtuUpdate::kFragmenting), "fragmenting");
}

TEST(QuotedPacket, NeedsAWholeIpv6Header) {
  auto p = ipv6_packet(v6("2001:db8:1::2"), v6("fd00::1"), 1432);
  auto q = decode_quoted_ipv6(std::span(p).first(64));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->original_len, 1472u);
  EXPECT_EQ(q->head.size(), 64u);
  EXPECT_EQ(q->head.dst(), v6("fd00::1"));
  EXPECT_EQ(decode_quoted_ipv6(std::span(p).first(39)).error(), Drop::kTruncated);
  EXPECT_EQ(decode_quoted_ipv6({}).error(), Drop::kTruncated);
  p[0] = 0x45;
  EXPECT_EQ(decode_quoted_ipv6(std::span(p).first(64)).error(), Drop::kBadVersion);
}

TEST(QuotedPacket, BytesBeyondThePacketAreNotPartOfIt) {
  auto p = ipv6_packet(v6("2001:db8:1::2"), v6("fd00::1"), 8);
  p.resize(200, 0xee);
  auto q = decode_quoted_ipv6(p);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->head.size(), 48u);
  EXPECT_EQ(q->original_len, 48u);
}

}  // namespace
}  // namespace m6t::core
