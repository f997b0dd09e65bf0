#include "core/address.h"

#include <gtest/gtest.h>

#include <set>

#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::FakeRandom;
using testing::pfx;
using testing::v6;

TEST(Ipv4Addr, ParsesDottedQuadOnly) {
  EXPECT_EQ(Ipv4Addr::parse("192.0.2.1")->value, 0xc0000201u);
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2"));
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2.256"));
  EXPECT_FALSE(Ipv4Addr::parse(""));
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2.1 "));
  EXPECT_EQ(Ipv4Addr::parse("198.51.100.7")->to_string(), "198.51.100.7");
}

TEST(Endpoint4, ParsesAddressAndPort) {
  auto e = Endpoint4::parse("203.0.113.2:4500");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->addr.to_string(), "203.0.113.2");
  EXPECT_EQ(e->port, 4500);
  EXPECT_EQ(e->to_string(), "203.0.113.2:4500");
  EXPECT_FALSE(Endpoint4::parse("203.0.113.2"));
  EXPECT_FALSE(Endpoint4::parse("203.0.113.2:0"));
  EXPECT_FALSE(Endpoint4::parse("203.0.113.2:65536"));
  EXPECT_FALSE(Endpoint4::parse("203.0.113.2:45x"));
  EXPECT_FALSE(Endpoint4::parse(":4500"));
}

TEST(Endpoint4, RefusalsSayWhichPartIsWrong) {
  EXPECT_EQ(endpoint_parse_error("203.0.113.2:4500"), "");
  EXPECT_EQ(endpoint_parse_error("203.0.113.2"),
            "missing :PORT (ADDR:PORT, e.g. 203.0.113.2:4500)");
  EXPECT_EQ(endpoint_parse_error("203.0.113:4500"), "not an IPv4 address before ':'");
  EXPECT_EQ(endpoint_parse_error("203.0.113.2:70000"), "port is not a number from 1 to 65535");
  EXPECT_EQ(endpoint_parse_error("203.0.113.2:0"), "port is not a number from 1 to 65535");
}

TEST(Ipv6Addr, ClassifiesScopes) {
  EXPECT_TRUE(v6("ff02::1").is_multicast());
  EXPECT_TRUE(v6("fe80::1").is_link_local());
  EXPECT_TRUE(v6("febf::1").is_link_local());
  EXPECT_FALSE(v6("fec0::1").is_link_local());
  EXPECT_TRUE(v6("::").is_unspecified());
  EXPECT_TRUE(v6("::1").is_loopback());
  EXPECT_TRUE(v6("::ffff:192.0.2.1").is_v4_mapped());
  EXPECT_FALSE(v6("fd00::1").is_multicast());
  EXPECT_EQ(v6("2001:db8:0:0:1:0:0:1").to_string(), "2001:db8::1:0:0:1");  // RFC 5952
}

TEST(Ipv6Prefix, ParsesAndContains) {
  auto p = Ipv6Prefix::parse("fd00:1:2::/48");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 48u);
  EXPECT_TRUE(p->contains(v6("fd00:1:2:ffff::1")));
  EXPECT_FALSE(p->contains(v6("fd00:1:3::1")));
  auto odd = Ipv6Prefix::parse("fd00:1:2:8000::/49");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(v6("fd00:1:2:8001::1")));
  EXPECT_FALSE(odd->contains(v6("fd00:1:2:7fff::1")));
  EXPECT_TRUE(Ipv6Prefix::parse("::/0")->contains(v6("2001:db8::1")));
  EXPECT_EQ(p->to_string(), "fd00:1:2::/48");
}

TEST(Ipv6Prefix, RefusesHostBitsAndBadLengths) {
  EXPECT_FALSE(Ipv6Prefix::parse("fd00:1:2::1/48"));
  EXPECT_EQ(prefix_parse_error("fd00:1:2::1/48"), "address has bits set beyond the prefix length");
  EXPECT_FALSE(Ipv6Prefix::parse("fd00::/129"));
  EXPECT_FALSE(Ipv6Prefix::parse("fd00::"));
  EXPECT_FALSE(Ipv6Prefix::parse("fd00::/x"));
  EXPECT_FALSE(Ipv6Prefix::parse("nothing/48"));
  EXPECT_EQ(prefix_parse_error("fd00::/48"), "");
}

TEST(Ula, Rfc4193PrefixIsFdWithRandomGlobalId) {
  FakeRandom rng(7);
  std::set<Ipv6Addr> seen;
  for (int i = 0; i < 100; ++i) {
    Ipv6Prefix p = make_ula48(rng);
    EXPECT_EQ(p.len, 48u);
    EXPECT_EQ(p.addr.b[0], 0xfd);  // FC00::/7 with the L bit set (RFC 4193 §3.1)
    for (int j = 6; j < 16; ++j)
      EXPECT_EQ(p.addr.b[j], 0) << "host bits must be zero";
    seen.insert(p.addr);
  }
  EXPECT_EQ(seen.size(), 100u) << "Global IDs are pseudo-random, not repeated";
}

TEST(MnPrefix, IsUlaThenSubnetThenMnId) {
  auto p = make_mn_prefix(pfx("fd12:3456:789a::/48"), 0x0102, 0xbeef);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "fd12:3456:789a:102:beef::/80");
  EXPECT_EQ(p->len, 80u);
  EXPECT_FALSE(make_mn_prefix(pfx("fd12:3456::/32"), 1, 1)) << "only a /48 is accepted";
}

TEST(Slices, SplitTheSubnetIdFromItsTopBits) {
  const Ipv6Prefix p48 = *Ipv6Prefix::parse("fd00:db8:1::/48");
  EXPECT_EQ(make_slice_prefix(p48, 4, 0)->to_string(), "fd00:db8:1::/52");
  EXPECT_EQ(make_slice_prefix(p48, 4, 3)->to_string(), "fd00:db8:1:3000::/52");
  EXPECT_EQ(make_slice_prefix(p48, 8, 255)->to_string(), "fd00:db8:1:ff00::/56");
  EXPECT_EQ(slice_subnet_id(4, 3, 5), 0x3005);
  EXPECT_EQ(slice_subnet_id(4, 15, 4095), 0xffff);
  // An MN of slice 3 lies inside the slice's prefix.
  const Ipv6Prefix mn = *make_mn_prefix(p48, *slice_subnet_id(4, 3, 5), 1);
  EXPECT_EQ(mn.to_string(), "fd00:db8:1:3005:1::/80");
  EXPECT_TRUE(make_slice_prefix(p48, 4, 3)->contains(mn.addr));
  EXPECT_FALSE(make_slice_prefix(p48, 4, 2)->contains(mn.addr));
  // Out of range: no slice bits, all 16, a slice or subnet past the split, not a /48.
  EXPECT_FALSE(make_slice_prefix(p48, 0, 0));
  EXPECT_FALSE(make_slice_prefix(p48, 16, 0));
  EXPECT_FALSE(make_slice_prefix(p48, 4, 16));
  EXPECT_FALSE(slice_subnet_id(4, 3, 4096));
  EXPECT_FALSE(make_slice_prefix(*Ipv6Prefix::parse("fd00:db8::/32"), 4, 0));
}

TEST(TunnelAddress, IsPrefix80PlusRandom48) {
  auto p80 = pfx("fd12:3456:789a:1:2::/80");
  Ipv6Addr a = make_tunnel_address(p80, 0x0000aabbccddeeffULL & 0xffffffffffffULL);
  EXPECT_EQ(a, v6("fd12:3456:789a:1:2:aabb:ccdd:eeff"));
  EXPECT_TRUE(p80.contains(a));
  EXPECT_EQ(random48_of(a), 0xaabbccddeeffULL);
}

TEST(TunnelAddress, RandomValueIsNeverZeroAndUses48Bits) {
  FakeRandom rng;
  rng.script(0xffff000000000000ULL);  // only bits above the 48 set: masked to zero
  EXPECT_EQ(draw_random48(rng), 1u) << "zero would give the Subnet-Router anycast address";
  rng.script(0x1234ffffffffffffULL);
  EXPECT_EQ(draw_random48(rng), 0xffffffffffffULL);
}

}  // namespace
}  // namespace m6t::core
