#include "core/ipv6_packet.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::ipv6_packet;
using testing::v6;

TEST(DecodeIpv6, AcceptsAnExactPacket) {
  auto p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 20);
  auto d = decode_ipv6(p, 1472);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->src(), v6("fd00::1"));
  EXPECT_EQ(d->dst(), v6("2001:db8::2"));
  EXPECT_EQ(d->payload_len(), 20u);
  EXPECT_EQ(d->next_header(), 17);
}

TEST(DecodeIpv6, RefusesTruncated) {
  for (std::size_t n : {0, 1, 39}) {
    std::vector<std::uint8_t> p(n, 0x60);
    auto d = decode_ipv6(p, 1472);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), Drop::kTruncated) << n;
  }
}

TEST(DecodeIpv6, RefusesOtherVersions) {
  auto p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"));
  for (int first : {0x45, 0x00, 0x70, 0xf6}) {
    p[0] = static_cast<std::uint8_t>(first);
    auto d = decode_ipv6(p, 1472);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), Drop::kBadVersion);
  }
}

TEST(DecodeIpv6, RefusesLengthMismatchEitherWay) {
  auto p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 20);
  p.push_back(0);  // trailing byte
  EXPECT_EQ(decode_ipv6(p, 1472).error(), Drop::kLengthMismatch);
  p.resize(50);  // truncated payload
  EXPECT_EQ(decode_ipv6(p, 1472).error(), Drop::kLengthMismatch);
  auto jumbo = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 20, 0);
  jumbo[4] = jumbo[5] = 0;  // payload length 0 with a payload: a jumbogram
  EXPECT_EQ(decode_ipv6(jumbo, 1472).error(), Drop::kLengthMismatch);
}

TEST(DecodeIpv6, RefusesOversized) {
  auto p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 1433);  // 1473 bytes
  EXPECT_EQ(decode_ipv6(p, 1472).error(), Drop::kOversized);
  p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 1432);  // 1472 bytes
  EXPECT_TRUE(decode_ipv6(p, 1472));
}

TEST(DecodeIpv6, CarriesExtensionHeadersUntouched) {
  // Next header 60 (Destination Options, e.g. MIPv6 Home Address option): not parsed.
  auto p = ipv6_packet(v6("fd00::1"), v6("2001:db8::2"), 24, 60);
  auto d = decode_ipv6(p, 1472);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->next_header(), 60);
}

TEST(Keepalive, HasTheDraftLayout) {
  std::uint8_t buf[wire::kKeepaliveLen];
  ASSERT_EQ(write_keepalive(buf, v6("fd00:1::abcd")), 40u);
  auto d = decode_ipv6(buf, 1472);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->next_header(), 59);  // §2.3: "Next Header in IPv6 header set to 59"
  EXPECT_EQ(d->payload_len(), 0u);
  EXPECT_EQ(d->src(), v6("fd00:1::abcd"));
  EXPECT_EQ(d->dst(), v6("fe80::1"));
  EXPECT_TRUE(is_keepalive(*d));
  EXPECT_FALSE(is_keepalive_reply(*d));
}

TEST(Keepalive, ReplySwapsTheAddresses) {
  auto p = testing::keepalive(v6("fd00:1::abcd"));
  make_keepalive_reply_in_place(p);
  auto d = decode_ipv6(p, 1472);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->src(), v6("fe80::1"));
  EXPECT_EQ(d->dst(), v6("fd00:1::abcd"));
  EXPECT_TRUE(is_keepalive_reply(*d));
  EXPECT_FALSE(is_keepalive(*d));
}

TEST(Keepalive, RecognitionNeedsAllThreeMarks) {
  auto other_nh = ipv6_packet(v6("fd00::1"), v6("fe80::1"), 0, 17);
  EXPECT_FALSE(is_keepalive(*decode_ipv6(other_nh, 1472)));
  auto other_dst = ipv6_packet(v6("fd00::1"), v6("fe80::2"), 0, 59);
  EXPECT_FALSE(is_keepalive(*decode_ipv6(other_dst, 1472)));
  auto with_payload = ipv6_packet(v6("fd00::1"), v6("fe80::1"), 8, 59);
  EXPECT_FALSE(is_keepalive(*decode_ipv6(with_payload, 1472)));
}

// Independent check of RFC 4443 §2.3: summing the pseudo-header and the whole message,
// checksum included, in one's complement gives 0xffff.
std::uint16_t ones_complement_sum_with_pseudo_header(std::span<const std::uint8_t> ip) {
  std::uint64_t sum = 0;
  for (std::size_t i = 8; i < 40; i += 2)
    sum += (ip[i] << 8) | ip[i + 1];  // src, dst
  std::size_t len = ip.size() - 40;
  sum += len + 58;
  for (std::size_t i = 40; i < ip.size(); i += 2)
    sum += (ip[i] << 8) | (i + 1 < ip.size() ? ip[i + 1] : 0);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

TEST(PacketTooBig, IsWellFormedWithAValidChecksum) {
  auto big = ipv6_packet(v6("2001:db8:1::2"), v6("fd00::1"), 1460, 6);
  std::vector<std::uint8_t> out(wire::kIcmpv6ErrorMaxLen);
  std::size_t n = write_packet_too_big(out, v6("fd00::"), *decode_ipv6(big, 65535), 1400);
  ASSERT_EQ(n, 1280u) << "quotes as much as fits in the minimum MTU";
  out.resize(n);
  auto d = decode_ipv6(out, 1280);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->next_header(), 58);
  EXPECT_EQ(d->src(), v6("fd00::"));
  EXPECT_EQ(d->dst(), v6("2001:db8:1::2"));
  EXPECT_EQ(out[40], 2);  // type Packet Too Big
  EXPECT_EQ(out[41], 0);
  EXPECT_EQ((out[44] << 24) | (out[45] << 16) | (out[46] << 8) | out[47], 1400);
  EXPECT_TRUE(std::equal(out.begin() + 48, out.end(), big.begin())) << "quotes the packet";
  EXPECT_EQ(ones_complement_sum_with_pseudo_header(out), 0xffff);
}

// The same messages as an independent packet tool builds them: scapy 2.5's
// IPv6(src=..., dst=..., hlim=64)/ICMPv6PacketTooBig(mtu=...)/Raw(quote) gave these checksums.
TEST(PacketTooBig, ChecksumMatchesScapy) {
  const Ipv6Addr ha = v6("2001:db8:1::2");
  const Ipv6Addr mn = v6("fd00:db8:1:0:1:2:3:4");
  auto big = ipv6_packet(ha, mn, 1432, 17, 0xab);
  std::vector<std::uint8_t> out(wire::kIcmpv6ErrorMaxLen);

  std::size_t n = write_packet_too_big(out, v6("fd00:db8:1::"), *decode_ipv6(big, 65535), 1400);
  ASSERT_EQ(n, 1280u);
  EXPECT_EQ((out[42] << 8) | out[43], 0x5ffb);

  // A quote as an ICMPv4 error brings it: the IPv6 header and 24 bytes (path-MTU mode).
  Ipv6View quoted{std::span<const std::uint8_t>(big).first(64)};
  n = write_packet_too_big(out, v6("fd00:db8:1::"), quoted, 1372);
  ASSERT_EQ(n, 112u);
  EXPECT_EQ((out[42] << 8) | out[43], 0x0447);
}

TEST(PacketTooBig, QuotesAShortPacketWhole) {
  auto p = ipv6_packet(v6("2001:db8:1::2"), v6("fd00::1"), 100, 17);
  std::vector<std::uint8_t> out(wire::kIcmpv6ErrorMaxLen);
  std::size_t n = write_packet_too_big(out, v6("fd00::"), *decode_ipv6(p, 65535), 1300);
  EXPECT_EQ(n, 40u + 8u + p.size());
  out.resize(n);
  EXPECT_EQ(ones_complement_sum_with_pseudo_header(out), 0xffff);
}

TEST(PacketTooBig, NeverAnswersErrorsOrMulticastOrUnspecifiedSources) {
  std::vector<std::uint8_t> out(wire::kIcmpv6ErrorMaxLen);
  auto icmp_error = ipv6_packet(v6("2001:db8:1::2"), v6("fd00::1"), 1400, 58);
  icmp_error[40] = 1;  // Destination Unreachable
  EXPECT_EQ(write_packet_too_big(out, v6("fd00::"), *decode_ipv6(icmp_error, 65535), 1300), 0u);
  auto echo = icmp_error;
  echo[40] = 128;  // Echo Request is informational: answered
  EXPECT_GT(write_packet_too_big(out, v6("fd00::"), *decode_ipv6(echo, 65535), 1300), 0u);
  auto mcast = ipv6_packet(v6("ff02::1"), v6("fd00::1"), 1400);
  EXPECT_EQ(write_packet_too_big(out, v6("fd00::"), *decode_ipv6(mcast, 65535), 1300), 0u);
  auto unspec = ipv6_packet(v6("::"), v6("fd00::1"), 1400);
  EXPECT_EQ(write_packet_too_big(out, v6("fd00::"), *decode_ipv6(unspec, 65535), 1300), 0u);
}

}  // namespace
}  // namespace m6t::core
