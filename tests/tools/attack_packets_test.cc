// m6t-attack's datagrams: each attack provokes, in a real GatewayEngine, the verdict it is built
// for; the IPv4 framing and fragmentation; the address ranges the tool refuses.
#include "attack/attack_packets.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "attack/ipv4_frame.h"
#include "attack/safety.h"
#include "core/gateway_engine.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::attack {
namespace {

using core::Action;
using core::Drop;
using testing::at_ms;
using testing::ep;
using testing::ipv6_packet;
using testing::v4;
using testing::v6;

const core::Ipv6Addr kHa = v6("2001:db8:1::2");
const core::Ipv6Addr kVictim = v6("fd00:db8:1:0:1:aa:bb:cc");
const core::Endpoint4 kVictimNat = ep("203.0.113.1:40000");
const core::Endpoint4 kGw = ep("203.0.113.2:4500");

// Drop::kCount stands for "accepted" (to_string has no name for it).
std::string_view name(Drop d) {
  return d == Drop::kCount ? "accepted" : core::to_string(d);
}

class AttackPacketsTest : public ::testing::Test {
 protected:
  AttackPacketsTest() {
    gw_config_.mn_prefix = testing::pfx("fd00:db8:1::/48");
    gw_config_.home_agents = {kHa};
    gw_config_.creation_rate.burst = 20;
    gw_config_.creation_rate.rate_per_s = 10;
    engine_ = std::make_unique<core::GatewayEngine>(gw_config_, rng_);
    c_.target = kGw;
    c_.from_net = v4("198.19.0.0");
    c_.from_len = 16;
    c_.prefix = gw_config_.mn_prefix;
    c_.home_agent = kHa;
    buf_.resize(kMaxPayload);
  }

  // The victim: a live MN with an active state bound to kVictimNat.
  void establish_victim() {
    auto first = ipv6_packet(kVictim, kHa);
    ASSERT_EQ(engine_->on_udp({kVictimNat, kGw, 0}, first, at_ms(0)).action, Action::kToTun);
    std::vector<std::uint8_t> scratch(wire::kIcmpv6ErrorMaxLen);
    auto answer = ipv6_packet(kHa, kVictim);
    ASSERT_EQ(engine_->on_tun(answer, at_ms(1), scratch).action, Action::kToUdp);
    c_.victim = kVictim;
    c_.victim_nat = kVictimNat;
  }

  core::Verdict feed(std::uint64_t i, Datagram* out = nullptr) {
    Datagram d = make_datagram(c_, i, buf_);
    if (out) *out = d;
    copy_.assign(d.payload.begin(), d.payload.end());
    return engine_->on_udp({d.src, kGw, 0}, copy_, at_ms(10));
  }

  // Every datagram's verdict is the intended one; returns how many of each reason.
  std::map<Drop, int> expect_intended(std::uint64_t n) {
    std::map<Drop, int> seen;
    for (std::uint64_t i = 0; i < n; ++i) {
      Datagram d;
      core::Verdict v = feed(i, &d);
      Drop got = v.action == Action::kDrop ? v.drop : Drop::kCount;
      EXPECT_EQ(name(got), name(d.intended)) << "datagram " << i;
      EXPECT_NE(v.action, Action::kToUdp) << "the gateway answered datagram " << i;
      ++seen[got];
    }
    return seen;
  }

  core::GatewayConfig gw_config_;
  testing::FakeRandom rng_;
  std::unique_ptr<core::GatewayEngine> engine_;
  AttackConfig c_;
  std::vector<std::uint8_t> buf_, copy_;
};

TEST_F(AttackPacketsTest, FloodCreatesOneTemporaryStatePerSource) {
  c_.mode = Mode::kFlood;
  auto seen = expect_intended(1000);
  EXPECT_EQ(seen[Drop::kCount], 1000);
  EXPECT_EQ(engine_->states().temporary_count(), 1000u);
  EXPECT_EQ(engine_->states().active_count(), 0u);
}

TEST_F(AttackPacketsTest, FloodOverAFixedSetOfMnsRepeatsEachMnsBinding) {
  c_.mode = Mode::kFlood;
  c_.mns = 100;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    Datagram d;
    core::Verdict v = feed(i, &d);
    Datagram first = make_datagram(c_, i % 100, buf_);
    EXPECT_EQ(d.src, first.src) << "datagram " << i;
    EXPECT_EQ(v.action, Action::kToTun) << "datagram " << i << ": " << name(v.drop);
  }
  // One state per MN, each met again from its own binding (a mismatch would be dropped).
  EXPECT_EQ(engine_->states().temporary_count(), 100u);
}

TEST_F(AttackPacketsTest, FloodWithEchoPayloadIsAValidEchoRequest) {
  c_.mode = Mode::kFlood;
  c_.payload = Payload::kEcho;
  c_.data_len = 56;
  Datagram d = make_datagram(c_, 7, buf_);
  ASSERT_EQ(d.payload.size(), 40u + 56u);
  auto p = core::decode_ipv6(d.payload, 1472);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->next_header(), wire::kNextHeaderIcmpv6);
  EXPECT_EQ(d.payload[40], 128);  // echo request
  // A correct checksum sums to zero over the pseudo-header and the message.
  EXPECT_EQ(core::icmpv6_checksum(p->src(), p->dst(), d.payload.subspan(40)), 0);
}

TEST_F(AttackPacketsTest, PortsFromOneAddressAreRateLimitedAfterTheBurst) {
  c_.mode = Mode::kPorts;
  c_.from_net = v4("203.0.113.66");
  c_.from_len = 32;
  int accepted = 0, limited = 0;
  std::set<std::uint16_t> ports;
  for (std::uint64_t i = 0; i < 500; ++i) {
    Datagram d;
    core::Verdict v = feed(i, &d);
    EXPECT_EQ(d.src.addr, v4("203.0.113.66"));
    ports.insert(d.src.port);
    if (v.action == Action::kToTun) ++accepted;
    if (v.action == Action::kDrop && v.drop == Drop::kRateLimited) ++limited;
  }
  EXPECT_EQ(ports.size(), 500u);
  EXPECT_EQ(accepted, 20);  // the burst
  EXPECT_EQ(limited, 480);
}

TEST_F(AttackPacketsTest, HijackNeverMovesTheVictimsBinding) {
  establish_victim();
  c_.mode = Mode::kHijack;
  std::set<core::Endpoint4> from;
  for (std::uint64_t i = 0; i < 400; ++i)
    from.insert(make_datagram(c_, i, buf_).src);
  EXPECT_EQ(from.count(kVictimNat), 0u) << "the victim's own binding is never reproduced";
  EXPECT_TRUE(std::any_of(from.begin(), from.end(), [](const core::Endpoint4& e) {
    return e.addr == kVictimNat.addr;
  })) << "the victim's NAT address is spoofed with other ports";
  auto seen = expect_intended(400);
  EXPECT_EQ(seen[Drop::kBindingMismatch], 400);
  const core::State* s = engine_->states().find(kVictim);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->binding.remote, kVictimNat);
}

TEST_F(AttackPacketsTest, KeepalivesForUnknownTemporaryAndMismatchedStates) {
  establish_victim();
  c_.mode = Mode::kKeepalive;
  auto seen = expect_intended(400);
  EXPECT_EQ(seen[Drop::kKeepaliveNoState], 100);
  EXPECT_EQ(seen[Drop::kKeepaliveNotActive], 100);
  EXPECT_EQ(seen[Drop::kBindingMismatch], 100);
  EXPECT_EQ(engine_->counters().keepalives.packets, 0u);
}

TEST_F(AttackPacketsTest, NonHomeAgentDestinations) {
  establish_victim();
  c_.mode = Mode::kNonHa;
  auto seen = expect_intended(100);
  EXPECT_EQ(seen[Drop::kDstNotHomeAgent], 100);
  EXPECT_EQ(engine_->states().size(), 1u);
}

TEST_F(AttackPacketsTest, MalformedCoversEveryDecoderAndSourceCheck) {
  c_.mode = Mode::kMalformed;
  c_.mtu = gw_config_.mtu;
  auto seen = expect_intended(140);
  for (Drop d : {Drop::kTruncated, Drop::kBadVersion, Drop::kLengthMismatch, Drop::kOversized,
                 Drop::kSrcInvalid, Drop::kSrcOutsidePrefix})
    EXPECT_GT(seen[d], 0) << core::to_string(d);
  EXPECT_EQ(engine_->states().size(), 0u);
}

TEST(NthSource, InsideThePrefixDistinctNeverAllZeroHost) {
  for (const char* p : {"fd00:db8:1::/48", "fd00:db8:1:0:1::/80"}) {
    auto prefix = testing::pfx(p);
    std::set<core::Ipv6Addr> seen;
    for (std::uint32_t run = 0; run < 3; ++run)
      for (std::uint64_t i = 0; i < 1000; ++i) {
        core::Ipv6Addr a = nth_source(prefix, run, i);
        EXPECT_TRUE(prefix.contains(a)) << a.to_string();
        EXPECT_NE(a, prefix.addr);
        seen.insert(a);
      }
    EXPECT_EQ(seen.size(), 3000u) << p;
  }
}

TEST(Ipv4Frame, OneFrameWithSpoofedSourceAndUdpHeader) {
  std::vector<std::uint8_t> payload(100, 0x11), out(2000);
  std::array<Frame, kMaxFrames> frames;
  ASSERT_EQ(frame_ipv4_udp(ep("198.19.1.2:1234"), kGw, payload, 7, 1500, out, frames), 1u);
  auto f = frames[0].bytes;
  ASSERT_EQ(f.size(), 20u + 8u + 100u);
  EXPECT_EQ(f[0], 0x45);
  EXPECT_EQ((f[2] << 8) | f[3], 128);
  EXPECT_EQ((f[6] << 8) | f[7], 0) << "no fragment flags";
  EXPECT_EQ(f[9], 17);
  EXPECT_EQ(std::vector<std::uint8_t>(f.begin() + 12, f.begin() + 16),
            (std::vector<std::uint8_t>{198, 19, 1, 2}));
  EXPECT_EQ(std::vector<std::uint8_t>(f.begin() + 16, f.begin() + 20),
            (std::vector<std::uint8_t>{203, 0, 113, 2}));
  EXPECT_EQ((f[20] << 8) | f[21], 1234);
  EXPECT_EQ((f[22] << 8) | f[23], 4500);
  EXPECT_EQ((f[24] << 8) | f[25], 108);
}

TEST(Ipv4Frame, LargeDatagramsAreFragmentedAndReassembleExactly) {
  std::vector<std::uint8_t> payload(3000), out(4000);
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<std::uint8_t>(i * 7);
  std::array<Frame, kMaxFrames> frames;
  std::size_t n = frame_ipv4_udp(ep("198.18.0.1:1"), kGw, payload, 99, 1500, out, frames);
  ASSERT_EQ(n, 3u);
  std::vector<std::uint8_t> udp;
  for (std::size_t k = 0; k < n; ++k) {
    auto f = frames[k].bytes;
    EXPECT_LE(f.size(), 1500u);
    EXPECT_EQ((f[4] << 8) | f[5], 99) << "fragments share the identification";
    int flags_off = (f[6] << 8) | f[7];
    EXPECT_EQ((flags_off & 0x1fff) * 8, static_cast<int>(udp.size()));
    EXPECT_EQ((flags_off & 0x2000) != 0, k + 1 < n) << "more fragments on all but the last";
    udp.insert(udp.end(), f.begin() + 20, f.end());
  }
  ASSERT_EQ(udp.size(), 3008u);
  EXPECT_EQ(std::vector<std::uint8_t>(udp.begin() + 8, udp.end()), payload);
}

TEST(Safety, OnlyDocumentationAndTestRanges) {
  EXPECT_TRUE(allowed_address(v4("192.0.2.1")));
  EXPECT_TRUE(allowed_address(v4("198.51.100.7")));
  EXPECT_TRUE(allowed_address(v4("203.0.113.2")));
  EXPECT_TRUE(allowed_range(v4("198.18.0.0"), 15));
  EXPECT_TRUE(allowed_range(v4("198.19.0.0"), 16));
  EXPECT_FALSE(allowed_range(v4("198.18.0.0"), 14));
  EXPECT_FALSE(allowed_range(v4("203.0.113.0"), 23));
  EXPECT_FALSE(allowed_address(v4("8.8.8.8")));
  EXPECT_FALSE(allowed_address(v4("192.0.3.1")));
  EXPECT_FALSE(allowed_address(v4("11.0.0.1")));
  EXPECT_FALSE(allowed_range(v4("0.0.0.0"), 0));
  // The private ranges of RFC 1918 are never a target or a spoofed source, not even inside
  // namespaces (written as numbers: no private-range literal stands in the tests).
  for (std::uint32_t a :
       {0x0a000001u, 0x0a420001u, 0xac100001u, 0xac1fff01u, 0xc0a80001u, 0xc0a8fffeu})
    EXPECT_FALSE(allowed_address(core::Ipv4Addr{a})) << core::Ipv4Addr{a}.to_string();
  EXPECT_FALSE(allowed_range(core::Ipv4Addr{0x0a000000u}, 8));
}

TEST(Modes, NamesRoundTrip) {
  for (int m = 0; m < static_cast<int>(Mode::kCount); ++m)
    EXPECT_EQ(parse_mode(to_string(static_cast<Mode>(m))), static_cast<Mode>(m));
  EXPECT_FALSE(parse_mode("smurf"));
}

}  // namespace
}  // namespace m6t::attack
