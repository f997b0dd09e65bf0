#include "core/gateway_engine.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/ipv6_packet.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using testing::ep;
using testing::ipv6_packet;
using testing::keepalive;
using testing::pfx;
using testing::v4;
using testing::v6;
using namespace std::chrono_literals;

const Ipv6Addr kHa = v6("2001:db8:1::2");
const Ipv6Addr kMn = v6("fd00:db8:1:0:1:aaaa:bbbb:cccc");
const Endpoint4 kLocal = ep("203.0.113.2:4500");
const Endpoint4 kNat = ep("198.51.100.1:40000");

class GatewayEngineTest : public ::testing::Test {
 protected:
  GatewayConfig config() {
    GatewayConfig c;
    c.mn_prefix = pfx("fd00:db8:1::/48");
    c.home_agents = {kHa, v6("2001:db8:1::3")};
    c.mtu = 1472;
    c.states.temp_lifetime = 1000ms;
    c.states.active_lifetime = 90s;
    c.states.max_states = 64;
    c.states.max_temp_states = 32;
    c.creation_rate = {10, 5, 1024};
    return c;
  }
  void SetUp() override { engine_ = std::make_unique<GatewayEngine>(config(), rng_); }
  void use_pmtu_mode(Duration age = 600s) {
    GatewayConfig c = config();
    c.pmtu_discovery = true;
    c.pmtu_age = age;
    engine_ = std::make_unique<GatewayEngine>(c, rng_);
  }

  Verdict from_mn(std::vector<std::uint8_t>& pkt, Endpoint4 nat = kNat, Endpoint4 local = kLocal,
                  std::int64_t ms = 0) {
    return engine_->on_udp(UdpIn{nat, local, 0}, pkt, at_ms(ms));
  }
  Verdict from_home(const std::vector<std::uint8_t>& pkt, std::int64_t ms = 0) {
    return engine_->on_tun(pkt, at_ms(ms), scratch_);
  }
  // A state for kMn made active by the HA's answer.
  void establish(std::int64_t ms = 0) {
    auto bu = ipv6_packet(kMn, kHa);
    ASSERT_EQ(from_mn(bu, kNat, kLocal, ms).action, Action::kToTun);
    ASSERT_EQ(from_home(ipv6_packet(kHa, kMn), ms).action, Action::kToUdp);
  }
  std::uint64_t drops(Drop d) const { return engine_->counters().drops[d]; }

  testing::FakeRandom rng_;
  std::unique_ptr<GatewayEngine> engine_;
  std::vector<std::uint8_t> scratch_ = std::vector<std::uint8_t>(wire::kIcmpv6ErrorMaxLen);
};

TEST_F(GatewayEngineTest, FirstPacketCreatesATemporaryStateAndGoesHome) {
  auto p = ipv6_packet(kMn, kHa);
  Verdict v = from_mn(p);
  EXPECT_EQ(v.action, Action::kToTun);
  EXPECT_EQ(v.packet.data(), p.data());
  EXPECT_EQ(v.packet.size(), p.size());
  const State* s = engine_->states().find(kMn);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, StateKind::kTemporary);
  EXPECT_EQ(s->binding.remote, kNat);
  EXPECT_EQ(s->binding.local, kLocal);
  EXPECT_EQ(engine_->counters().to_home.packets, 1u);
}

TEST_F(GatewayEngineTest, HomeAgentAnswerActivatesAndLeavesFromTheAddressTheMnUsed) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p, kNat, ep("203.0.113.2:53"));
  auto answer = ipv6_packet(kHa, kMn);
  Verdict v = from_home(answer);
  ASSERT_EQ(v.action, Action::kToUdp);
  EXPECT_EQ(v.to.remote, kNat);
  EXPECT_EQ(v.to.local, ep("203.0.113.2:53"));
  EXPECT_EQ(engine_->states().find(kMn)->kind, StateKind::kActive);
  EXPECT_EQ(engine_->counters().to_mn.packets, 1u);
}

TEST_F(GatewayEngineTest, OnlyAHomeAgentActivatesATemporaryState) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p);
  Verdict v = from_home(ipv6_packet(v6("2001:db8:1::99"), kMn));
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.drop, Drop::kTempNotFromHomeAgent);
  EXPECT_EQ(engine_->states().find(kMn)->kind, StateKind::kTemporary);
  // A second configured home agent may activate.
  EXPECT_EQ(from_home(ipv6_packet(v6("2001:db8:1::3"), kMn)).action, Action::kToUdp);
}

TEST_F(GatewayEngineTest, ActiveStatesForwardFromAnyHomeSource) {
  establish();
  // e.g. an ICMPv6 error from a router between the gateway and the HA (§2.6)
  EXPECT_EQ(from_home(ipv6_packet(v6("2001:db8:1::fe"), kMn, 48, 58)).action, Action::kToUdp);
}

TEST_F(GatewayEngineTest, HomeTrafficWithoutStateIsDropped) {
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn)).drop, Drop::kNoState);
  EXPECT_EQ(from_home(ipv6_packet(kHa, v6("2001:db8:2::1"))).drop, Drop::kDstOutsidePrefix);
  EXPECT_EQ(drops(Drop::kNoState), 1u);
  EXPECT_EQ(drops(Drop::kDstOutsidePrefix), 1u);
}

TEST_F(GatewayEngineTest, HostLinkScopedTrafficOnTheTunIsCountedApart) {
  establish();
  // What the kernel sends on the gateway's TUN device: MLDv2 reports (source ::, or a
  // link-local source if the operator gave the device one) and link-local unicast.
  EXPECT_EQ(from_home(ipv6_packet(v6("::"), v6("ff02::16"), 28, 0)).drop, Drop::kDstInvalid);
  EXPECT_EQ(from_home(ipv6_packet(v6("fe80::1"), v6("ff02::2"), 16, 58)).drop, Drop::kDstInvalid);
  EXPECT_EQ(from_home(ipv6_packet(kHa, v6("fe80::2"))).drop, Drop::kDstInvalid);
  EXPECT_EQ(drops(Drop::kDstInvalid), 3u);
  EXPECT_EQ(drops(Drop::kDstOutsidePrefix), 0u);
}

TEST_F(GatewayEngineTest, SanityChecksOnSourceAndDestination) {
  struct Case {
    const char* src;
    const char* dst;
    Drop want;
  };
  for (auto c : {Case{"fd00:db8:2::1", "2001:db8:1::2", Drop::kSrcOutsidePrefix},
                 Case{"2001:db8:1::2", "2001:db8:1::2", Drop::kSrcOutsidePrefix},
                 Case{"fe80::1234", "2001:db8:1::2", Drop::kSrcInvalid},
                 Case{"ff02::1", "2001:db8:1::2", Drop::kSrcInvalid},
                 Case{"::", "2001:db8:1::2", Drop::kSrcInvalid},
                 Case{"::1", "2001:db8:1::2", Drop::kSrcInvalid},
                 Case{"fd00:db8:1::5", "2001:db8:1::4", Drop::kDstNotHomeAgent},
                 Case{"fd00:db8:1::5", "ff02::1", Drop::kDstNotHomeAgent},
                 Case{"fd00:db8:1::5", "fe80::1", Drop::kDstNotHomeAgent}}) {
    auto p = ipv6_packet(v6(c.src), v6(c.dst));
    Verdict v = from_mn(p);
    EXPECT_EQ(v.action, Action::kDrop) << c.src << " -> " << c.dst;
    EXPECT_EQ(v.drop, c.want) << c.src << " -> " << c.dst;
  }
  EXPECT_EQ(engine_->states().size(), 0u) << "no check failure may create a state";
}

TEST_F(GatewayEngineTest, MulticastSourceIsRefusedEvenInsideAMulticastPrefix) {
  GatewayConfig c = config();
  c.mn_prefix = pfx("ff00::/8");  // a careless configuration must not open multicast sources
  GatewayEngine g(c, rng_);
  auto p = ipv6_packet(v6("ff0e::1"), kHa);
  EXPECT_EQ(g.on_udp(UdpIn{kNat, kLocal, 0}, p, at_ms(0)).drop, Drop::kSrcInvalid);
}

TEST_F(GatewayEngineTest, HostileDatagramsAreDroppedWithTheirReason) {
  std::vector<std::uint8_t> empty;
  EXPECT_EQ(from_mn(empty).drop, Drop::kTruncated);
  std::vector<std::uint8_t> short_one(39, 0x60);
  EXPECT_EQ(from_mn(short_one).drop, Drop::kTruncated);
  auto v4pkt = ipv6_packet(kMn, kHa);
  v4pkt[0] = 0x45;
  EXPECT_EQ(from_mn(v4pkt).drop, Drop::kBadVersion);
  auto trailing = ipv6_packet(kMn, kHa);
  trailing.push_back(1);
  EXPECT_EQ(from_mn(trailing).drop, Drop::kLengthMismatch);
  auto oversized = ipv6_packet(kMn, kHa, 1433);
  EXPECT_EQ(from_mn(oversized).drop, Drop::kOversized);
  EXPECT_EQ(engine_->states().size(), 0u);
  EXPECT_EQ(engine_->counters().drops.total(), 5u);
  EXPECT_EQ(engine_->counters().to_home.packets, 0u);
}

// --- §2.4: bindings are never updated ---------------------------------------------------

struct Hijack {
  const char* name;
  Endpoint4 nat;
  Endpoint4 local;
};
const Hijack kHijacks[] = {
    {"other IPv4 address", ep("198.51.100.66:40000"), kLocal},
    {"other port", ep("198.51.100.1:40001"), kLocal},
    {"other local port", kNat, ep("203.0.113.2:4501")},
};

TEST_F(GatewayEngineTest, HijackOfATemporaryStateIsDroppedAndChangesNothing) {
  auto first = ipv6_packet(kMn, kHa);
  from_mn(first, kNat, kLocal, 0);
  const State before = *engine_->states().find(kMn);
  for (const Hijack& h : kHijacks) {
    auto p = ipv6_packet(kMn, kHa);
    Verdict v = from_mn(p, h.nat, h.local, 500);
    EXPECT_EQ(v.drop, Drop::kBindingMismatch) << h.name;
  }
  const State* s = engine_->states().find(kMn);
  EXPECT_EQ(s->binding, before.binding);
  EXPECT_EQ(s->from_mn.packets, before.from_mn.packets);
  // The HA's answer still goes to the real MN.
  Verdict v = from_home(ipv6_packet(kHa, kMn), 600);
  EXPECT_EQ(v.to.remote, kNat);
}

TEST_F(GatewayEngineTest, HijackOfAnActiveStateIsDroppedAndDoesNotRefreshIt) {
  establish(0);
  for (const Hijack& h : kHijacks) {
    auto p = ipv6_packet(kMn, kHa);
    EXPECT_EQ(from_mn(p, h.nat, h.local, 80000).drop, Drop::kBindingMismatch) << h.name;
    auto ka = keepalive(kMn);
    EXPECT_EQ(from_mn(ka, h.nat, h.local, 80000).drop, Drop::kBindingMismatch) << h.name;
  }
  EXPECT_EQ(engine_->next_deadline(), at_ms(90000)) << "attempts must not extend the lifetime";
  Verdict v = from_home(ipv6_packet(kHa, kMn), 80001);
  ASSERT_EQ(v.action, Action::kToUdp);
  EXPECT_EQ(v.to.remote, kNat);
  EXPECT_EQ(v.to.local, kLocal);
}

TEST_F(GatewayEngineTest, AfterExpiryTheAddressCanBeBoundAgain) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p, kNat, kLocal, 0);
  auto q = ipv6_packet(kMn, kHa);
  EXPECT_EQ(from_mn(q, ep("198.51.100.7:1"), kLocal, 1000).action, Action::kToTun);
  EXPECT_EQ(engine_->states().find(kMn)->binding.remote, ep("198.51.100.7:1"));
}

// --- §2.3 keepalives --------------------------------------------------------------------

TEST_F(GatewayEngineTest, KeepaliveOfAnActiveMatchingStateIsAnsweredInPlace) {
  establish(0);
  auto ka = keepalive(kMn);
  Verdict v = from_mn(ka, kNat, kLocal, 30000);
  ASSERT_EQ(v.action, Action::kToUdp);
  EXPECT_EQ(v.to.remote, kNat);
  EXPECT_EQ(v.to.local, kLocal);
  auto d = decode_ipv6(v.packet, 1472);
  ASSERT_TRUE(d);
  EXPECT_TRUE(is_keepalive_reply(*d));
  EXPECT_EQ(d->dst(), kMn);
  EXPECT_EQ(engine_->counters().keepalives.packets, 1u);
  EXPECT_EQ(engine_->counters().to_home.packets, 1u) << "keepalives never reach the TUN";
  EXPECT_EQ(engine_->states().deadline_of(*engine_->states().find(kMn)), at_ms(120000))
      << "keepalives extend the lifetime";
}

TEST_F(GatewayEngineTest, KeepaliveWithoutStateIsSilentlyDropped) {
  auto ka = keepalive(kMn);
  Verdict v = from_mn(ka);
  EXPECT_EQ(v.drop, Drop::kKeepaliveNoState);
  EXPECT_EQ(engine_->states().size(), 0u) << "a keepalive never creates a state";
}

TEST_F(GatewayEngineTest, KeepaliveOfATemporaryStateIsSilentlyDropped) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p);
  auto ka = keepalive(kMn);
  EXPECT_EQ(from_mn(ka).drop, Drop::kKeepaliveNotActive);
  EXPECT_EQ(engine_->states().find(kMn)->kind, StateKind::kTemporary);
}

// --- Lifetimes through the engine -----------------------------------------------------------

TEST_F(GatewayEngineTest, TemporaryStateExpiresAtItsLifetimeWithoutAnAnswer) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p, kNat, kLocal, 0);
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), 1000).drop, Drop::kNoState);
  EXPECT_EQ(engine_->states().stats().expired_temporary, 1u);
}

TEST_F(GatewayEngineTest, AnswerJustBeforeTheTemporaryLifetimeStillActivates) {
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p, kNat, kLocal, 0);
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), 999).action, Action::kToUdp);
}

TEST_F(GatewayEngineTest, OnlyMnTrafficKeepsAnActiveStateAlive) {
  establish(0);
  for (int t = 10000; t < 90000; t += 10000)
    EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), t).action, Action::kToUdp);
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), 90000).drop, Drop::kNoState);
  EXPECT_EQ(engine_->states().stats().expired_active, 1u);
}

TEST_F(GatewayEngineTest, MnDataExtendsTheActiveLifetime) {
  establish(0);
  auto p = ipv6_packet(kMn, kHa);
  from_mn(p, kNat, kLocal, 60000);
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), 149999).action, Action::kToUdp);
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn), 150000).drop, Drop::kNoState);
}

// --- §6.1.3 rate limit and caps -------------------------------------------------------------

TEST_F(GatewayEngineTest, StateCreationIsRateLimitedPerIpv4AddressAcrossPorts) {
  Ipv6Addr mn = kMn;
  int created = 0;
  for (int i = 0; i < 20; ++i) {
    mn.b[15] = static_cast<std::uint8_t>(i);
    auto p = ipv6_packet(mn, kHa);
    Endpoint4 nat{v4("198.51.100.1"), static_cast<std::uint16_t>(30000 + i)};
    Verdict v = from_mn(p, nat, kLocal, 0);
    if (v.action == Action::kToTun)
      ++created;
    else
      EXPECT_EQ(v.drop, Drop::kRateLimited);
  }
  EXPECT_EQ(created, 5) << "burst of 5 whatever the source port";
  // Another IPv4 address is not affected.
  mn.b[15] = 0xee;
  auto p = ipv6_packet(mn, kHa);
  EXPECT_EQ(from_mn(p, ep("198.51.100.2:1"), kLocal, 0).action, Action::kToTun);
  // And the limited address earns a token back after 1/rate.
  mn.b[15] = 0xef;
  auto q = ipv6_packet(mn, kHa);
  EXPECT_EQ(from_mn(q, ep("198.51.100.1:2"), kLocal, 100).action, Action::kToTun);
}

TEST_F(GatewayEngineTest, RateLimitNeverHitsPacketsOfExistingStates) {
  establish(0);
  for (int i = 0; i < 100; ++i) {
    auto p = ipv6_packet(kMn, kHa);
    ASSERT_EQ(from_mn(p, kNat, kLocal, 1).action, Action::kToTun) << i;
  }
}

TEST_F(GatewayEngineTest, TemporaryCapEvictsOldestAndTotalCapRefuses) {
  GatewayConfig c = config();
  c.states.max_states = 4;
  c.states.max_temp_states = 2;
  c.creation_rate = {1000, 1000, 1024};
  GatewayEngine g(c, rng_);
  auto mn = [](int i) {
    Ipv6Addr a = kMn;
    a.b[15] = static_cast<std::uint8_t>(i);
    return a;
  };
  for (int i = 0; i < 4; ++i) {  // four active states fill the table
    auto p = ipv6_packet(mn(i), kHa);
    ASSERT_EQ(g.on_udp({kNat, kLocal, 0}, p, at_ms(0)).action, Action::kToTun);
    ASSERT_EQ(g.on_tun(ipv6_packet(kHa, mn(i)), at_ms(0), scratch_).action, Action::kToUdp);
  }
  auto p = ipv6_packet(mn(9), kHa);
  EXPECT_EQ(g.on_udp({kNat, kLocal, 0}, p, at_ms(1)).drop, Drop::kStateTableFull);
  EXPECT_EQ(g.states().size(), 4u);

  GatewayEngine h(c, rng_);
  for (int i = 0; i < 3; ++i) {
    auto q = ipv6_packet(mn(i), kHa);
    ASSERT_EQ(h.on_udp({kNat, kLocal, 0}, q, at_ms(i)).action, Action::kToTun);
  }
  EXPECT_EQ(h.states().temporary_count(), 2u);
  EXPECT_EQ(h.states().find(mn(0)), nullptr) << "the oldest temporary made room";
  EXPECT_EQ(h.states().stats().evicted_temporary, 1u);
}

// --- §2.6 MTU toward one MN ---------------------------------------------------------------

TEST_F(GatewayEngineTest, PacketOverTheMnMtuIsAnsweredWithPacketTooBig) {
  establish(0);
  engine_->set_mn_mtu(kMn, 1400);
  auto big = ipv6_packet(kHa, kMn, 1400 - 40 + 1);
  Verdict v = from_home(big, 1);
  ASSERT_EQ(v.action, Action::kToTun);
  EXPECT_EQ(v.drop, Drop::kTooBig);
  auto d = decode_ipv6(v.packet, 1280);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dst(), kHa);
  EXPECT_EQ(d->src(), v6("fd00:db8:1::")) << "default ICMP source: the prefix's own address";
  EXPECT_EQ(v.packet[40], wire::kIcmpv6PacketTooBig);
  EXPECT_EQ((v.packet[46] << 8) | v.packet[47], 1400);
  EXPECT_EQ(drops(Drop::kTooBig), 1u);
  auto fits = ipv6_packet(kHa, kMn, 1400 - 40);
  EXPECT_EQ(from_home(fits, 2).action, Action::kToUdp);
}

TEST_F(GatewayEngineTest, MnMtuIsClampedToIpv6MinimumAndConfiguredMtu) {
  establish(0);
  engine_->set_mn_mtu(kMn, 1000);
  EXPECT_EQ(engine_->states().find(kMn)->path.mtu, 1280u);
  engine_->set_mn_mtu(kMn, 9000);
  EXPECT_EQ(engine_->states().find(kMn)->path.mtu, 1472u);
}

TEST_F(GatewayEngineTest, PacketTooBigIsRateLimited) {
  establish(0);
  engine_->set_mn_mtu(kMn, 1280);
  auto big = ipv6_packet(kHa, kMn, 1300);
  int sent = 0;
  for (int i = 0; i < 100; ++i)
    if (from_home(big, 1).action == Action::kToTun) ++sent;
  EXPECT_EQ(sent, 20) << "the burst, then nothing until tokens come back";
  EXPECT_EQ(engine_->counters().icmp_rate_limited, 80u);
  EXPECT_EQ(drops(Drop::kTooBig), 100u);
}

// --- Path-MTU mode --------------------------------------------------------------

const Endpoint4 kNat2 = ep("198.51.100.1:40001");
const Ipv6Addr kMn2 = v6("fd00:db8:1:0:2:aaaa:bbbb:cccc");

// What the socket's error queue holds after a router refused `packet` toward `nat`.
struct IcmpFromRouter {
  std::vector<std::uint8_t> quote;
  FragNeeded in;
  IcmpFromRouter(const std::vector<std::uint8_t>& packet, Endpoint4 nat, std::uint32_t mtu,
                 std::size_t quoted = 64)
      : quote(packet.begin(), packet.begin() + std::min(quoted, packet.size())),
        in{0, nat, mtu, quote} {}
};

TEST_F(GatewayEngineTest, FragNeededLowersThatOneMnsMtuAndTellsTheSender) {
  use_pmtu_mode();
  establish(0);
  auto bu2 = ipv6_packet(kMn2, kHa);
  ASSERT_EQ(from_mn(bu2, kNat2, kLocal, 0).action, Action::kToTun);
  ASSERT_EQ(from_home(ipv6_packet(kHa, kMn2), 0).action, Action::kToUdp);

  auto big = ipv6_packet(kHa, kMn, 1432);  // 1472 bytes
  Verdict sent = from_home(big, 1);
  ASSERT_EQ(sent.action, Action::kToUdp);
  EXPECT_TRUE(sent.df) << "path-MTU mode sets DF";

  IcmpFromRouter icmp(big, kNat, 1400);
  Verdict v = engine_->on_frag_needed(icmp.in, at_ms(2), scratch_);
  const State* s = engine_->states().find(kMn);
  EXPECT_EQ(s->path.mtu, 1372u);
  EXPECT_EQ(s->path.source, MtuSource::kIcmp);
  EXPECT_EQ(engine_->states().find(kMn2)->path.mtu, 1472u) << "the other MN's path is its own";
  EXPECT_EQ(engine_->counters().pmtu.lowered, 1u);
  // The quoted packet's sender learns at once (RFC 4213 §3.4).
  ASSERT_EQ(v.action, Action::kToTun);
  auto d = decode_ipv6(v.packet, 1280);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dst(), kHa);
  EXPECT_EQ(v.packet[40], wire::kIcmpv6PacketTooBig);
  EXPECT_EQ((v.packet[46] << 8) | v.packet[47], 1372);
  EXPECT_TRUE(std::equal(icmp.quote.begin(), icmp.quote.end(), v.packet.begin() + 48));

  EXPECT_EQ(from_home(big, 3).action, Action::kToTun) << "retransmission: Packet Too Big";
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn, 1332), 3).action, Action::kToUdp);
  Verdict other = from_home(ipv6_packet(kHa, kMn2, 1432), 3);
  EXPECT_EQ(other.action, Action::kToUdp);
  EXPECT_TRUE(other.df);
}

TEST_F(GatewayEngineTest, FragNeededForAnotherBindingOrUnquotedChangesNothing) {
  use_pmtu_mode();
  establish(0);
  auto big = ipv6_packet(kHa, kMn, 1432);
  EXPECT_EQ(engine_->on_frag_needed(IcmpFromRouter(big, kNat2, 1400).in, at_ms(1), scratch_).action,
            Action::kConsumed);
  EXPECT_EQ(
      engine_->on_frag_needed(IcmpFromRouter(big, kNat, 1400, 8).in, at_ms(1), scratch_).action,
      Action::kConsumed)
      << "RFC 792's 8 bytes: no IPv6 header, no MN";
  auto other = ipv6_packet(kHa, kMn2, 1432);
  EXPECT_EQ(
      engine_->on_frag_needed(IcmpFromRouter(other, kNat, 1400).in, at_ms(1), scratch_).action,
      Action::kConsumed);
  EXPECT_EQ(engine_->states().find(kMn)->path.mtu, 1472u);
  EXPECT_EQ(engine_->counters().pmtu.unattributed, 3u);
  EXPECT_EQ(engine_->counters().too_big_sent.packets, 0u);
}

TEST_F(GatewayEngineTest, FragNeededIsIgnoredInTheDefaultMode) {
  establish(0);
  auto big = ipv6_packet(kHa, kMn, 1432);
  Verdict sent = from_home(big, 1);
  EXPECT_FALSE(sent.df) << "§2.6: SHOULD NOT set the DF bit";
  EXPECT_EQ(engine_->on_frag_needed(IcmpFromRouter(big, kNat, 1400).in, at_ms(1), scratch_).action,
            Action::kConsumed);
  EXPECT_EQ(engine_->states().find(kMn)->path.mtu, 1472u);
}

TEST_F(GatewayEngineTest, PathBelow1280GoesBackToFragmentationFor1280BytePackets) {
  use_pmtu_mode();
  establish(0);
  auto big = ipv6_packet(kHa, kMn, 1432);
  Verdict v = engine_->on_frag_needed(IcmpFromRouter(big, kNat, 1200).in, at_ms(1), scratch_);
  ASSERT_EQ(v.action, Action::kToTun);
  EXPECT_EQ((v.packet[46] << 8) | v.packet[47], 1280);
  EXPECT_EQ(engine_->counters().pmtu.fragmenting, 1u);
  Verdict min = from_home(ipv6_packet(kHa, kMn, 1240), 2);
  ASSERT_EQ(min.action, Action::kToUdp) << "1280 bytes still cross";
  EXPECT_FALSE(min.df) << "...in IPv4 fragments";
  EXPECT_EQ(from_home(ipv6_packet(kHa, kMn, 1241), 2).action, Action::kToTun);
}

TEST_F(GatewayEngineTest, LearnedMtuAgesOutWhenTheStateIsNextUsed) {
  use_pmtu_mode(10s);
  establish(0);
  auto big = ipv6_packet(kHa, kMn, 1432);
  engine_->on_frag_needed(IcmpFromRouter(big, kNat, 1400).in, at_ms(0), scratch_);
  EXPECT_EQ(from_home(big, 9999).action, Action::kToTun);
  Verdict v = from_home(big, 10000);
  ASSERT_EQ(v.action, Action::kToUdp) << "probed upward again at the configured MTU";
  EXPECT_TRUE(v.df);
  const State* s = engine_->states().find(kMn);
  EXPECT_EQ(s->path.mtu, 1472u);
  EXPECT_EQ(s->path.source, MtuSource::kAged);
  EXPECT_EQ(engine_->counters().pmtu.aged, 1u);
}

TEST_F(GatewayEngineTest, DatagramsOverTheConfiguredMtuFromTheNatSideAreCountedNotForwarded) {
  use_pmtu_mode();
  auto big = ipv6_packet(kMn, kHa, 1433);
  EXPECT_EQ(from_mn(big).drop, Drop::kOversized);
  EXPECT_EQ(drops(Drop::kOversized), 1u);
  EXPECT_EQ(engine_->counters().to_home.packets, 0u);
}

}  // namespace
}  // namespace m6t::core

// --- established MNs first ------------------------------------------------------------------

namespace m6t::core {
namespace {

class CreationBudgetTest : public GatewayEngineTest {
 protected:
  Ipv6Addr mn(int i) {
    Ipv6Addr a = kMn;
    a.b[15] = static_cast<std::uint8_t>(i);
    a.b[14] = static_cast<std::uint8_t>(i >> 8);
    return a;
  }
  Endpoint4 nat(int i) {
    return Endpoint4{Ipv4Addr{0xc6120000u + static_cast<std::uint32_t>(i)}, 1};
  }
};

TEST_F(CreationBudgetTest, OneTurnCreatesAtMostItsBudgetAndActiveStatesPassRegardless) {
  GatewayConfig c = config();
  c.creations_per_turn = 4;
  c.states.max_temp_states = 32;
  engine_ = std::make_unique<GatewayEngine>(c, rng_);
  establish();
  engine_->begin_turn();
  int created = 0;
  for (int i = 1; i <= 10; ++i) {
    auto p = ipv6_packet(mn(i), kHa);
    created += from_mn(p, nat(i)).action == Action::kToTun;
  }
  EXPECT_EQ(created, 4);
  EXPECT_EQ(drops(Drop::kCreationBudget), 6u);
  auto ours = ipv6_packet(kMn, kHa);
  EXPECT_EQ(from_mn(ours).action, Action::kToTun) << "an active state's datagram: no budget";
  engine_->begin_turn();
  auto p = ipv6_packet(mn(20), kHa);
  EXPECT_EQ(from_mn(p, nat(20)).action, Action::kToTun) << "a new turn, a new budget";
}

TEST_F(CreationBudgetTest, TheBudgetTightensWhileTheTemporaryTableIsHalfFull) {
  GatewayConfig c = config();
  c.creations_per_turn = 8;
  c.states.max_temp_states = 16;
  engine_ = std::make_unique<GatewayEngine>(c, rng_);
  int i = 0;
  for (int turn = 0; turn < 2; ++turn) {  // 16 temporary states: more than half of 16? no: 16
    engine_->begin_turn();
    for (int k = 0; k < 8; ++k, ++i) {
      auto p = ipv6_packet(mn(i), kHa);
      from_mn(p, nat(i));
    }
  }
  ASSERT_GT(engine_->states().temporary_count() * 2, 16u);
  engine_->begin_turn();
  int created = 0;
  for (int k = 0; k < 8; ++k, ++i) {
    auto p = ipv6_packet(mn(i), kHa);
    created += from_mn(p, nat(i)).action == Action::kToTun;
  }
  EXPECT_EQ(created, 2) << "a quarter of the budget under pressure";
}

TEST_F(CreationBudgetTest, WithoutTurnsThereIsNoBudget) {
  GatewayConfig c = config();
  c.creations_per_turn = 1;
  engine_ = std::make_unique<GatewayEngine>(c, rng_);
  for (int i = 1; i <= 5; ++i) {
    auto p = ipv6_packet(mn(i), kHa);
    EXPECT_EQ(from_mn(p, nat(i)).action, Action::kToTun);
  }
}

// A reload (SIGHUP): states survive, the new home agents and lifetimes apply to them.
TEST_F(GatewayEngineTest, ReconfigureKeepsStatesAndAppliesHomeAgentsAndLifetimes) {
  establish();
  GatewayConfig next = config();
  const Ipv6Addr new_ha = v6("2001:db8:1::9");
  next.home_agents = {kHa, new_ha};
  next.states.active_lifetime = 5s;
  next.mtu = 1280;  // not a reload's to change: ignored
  engine_->reconfigure(next);
  EXPECT_EQ(engine_->states().active_count(), 1u);
  EXPECT_EQ(engine_->config().mtu, 1472u);
  auto to_new = ipv6_packet(kMn, new_ha);
  EXPECT_EQ(from_mn(to_new, kNat, kLocal, 10).action, Action::kToTun);
  auto to_removed = ipv6_packet(kMn, v6("2001:db8:1::3"));
  EXPECT_EQ(from_mn(to_removed, kNat, kLocal, 20).drop, Drop::kDstNotHomeAgent);
  // The state's idle lifetime is the new one, from its last packet (at 10 ms).
  engine_->expire(at_ms(10 + 4999));
  EXPECT_EQ(engine_->states().active_count(), 1u);
  engine_->expire(at_ms(10 + 5001));
  EXPECT_EQ(engine_->states().active_count(), 0u);
}

TEST_F(GatewayEngineTest, ReconfigureChangesTheCreationRate) {
  GatewayConfig next = config();
  next.creation_rate.burst = 1;
  next.creation_rate.rate_per_s = 1;
  engine_->reconfigure(next);
  auto first = ipv6_packet(v6("fd00:db8:1:0:1:1:1:1"), kHa);
  EXPECT_EQ(from_mn(first).action, Action::kToTun);
  auto second = ipv6_packet(v6("fd00:db8:1:0:1:1:1:2"), kHa);
  EXPECT_EQ(from_mn(second).drop, Drop::kRateLimited);
}

constexpr std::int64_t kWallMs = 1'796'000'000'000;

TEST_F(GatewayEngineTest, SnapshotHoldsActiveStatesOnlyWithTheirRemainingLifetime) {
  establish(0);
  auto other = ipv6_packet(v6("fd00:db8:1:0:1::7"), kHa);
  ASSERT_EQ(from_mn(other, ep("198.51.100.1:40001"), kLocal, 500).action, Action::kToTun);
  auto more = ipv6_packet(kMn, kHa);
  ASSERT_EQ(from_mn(more, kNat, kLocal, 20000).action, Action::kToTun);  // refreshes kMn
  const StateSnapshot s = engine_->snapshot(at_ms(30000), kWallMs);
  EXPECT_EQ(s.saved_at_unix_ms, kWallMs);
  ASSERT_EQ(s.states.size(), 1u);  // the temporary state is not saved
  const SavedState& r = s.states[0];
  EXPECT_EQ(r.mn, kMn);
  EXPECT_EQ(r.remote, kNat);
  EXPECT_EQ(r.local, kLocal);
  EXPECT_EQ(r.remaining, 80s);  // 90 s from the MN's packet at 20 s, seen at 30 s
  EXPECT_EQ(r.mtu, 1472u);
  EXPECT_EQ(r.mtu_source, MtuSource::kConfigured);
}

TEST_F(GatewayEngineTest, ARestoredStateAnswersTheHomeSideAtOnceAndExpiresOnTime) {
  establish(0);
  const StateSnapshot saved = engine_->snapshot(at_ms(10000), kWallMs);  // 80 s left
  SetUp();  // a new process: empty table, another clock
  const Endpoint4 listeners[] = {ep("203.0.113.2:53"), kLocal};
  const RestoreCounts n = engine_->restore(saved, listeners, kWallMs + 5000, at_ms(100));
  EXPECT_EQ(n.restored, 1u);
  const State* st = engine_->states().find(kMn);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->kind, StateKind::kActive);
  EXPECT_EQ(st->binding, (Binding{kNat, kLocal, 1}));  // the listener found by its address
  EXPECT_EQ(engine_->states().stats().restored, 1u);
  // The HA reaches the idle MN with no packet from it first, from the address it used.
  Verdict v = from_home(ipv6_packet(kHa, kMn), 200);
  EXPECT_EQ(v.action, Action::kToUdp);
  EXPECT_EQ(v.to, (Binding{kNat, kLocal, 1}));
  // 80 s left at the save, 5 s of them spent away: it ends 75 s after the restore.
  engine_->expire(at_ms(100 + 74999));
  EXPECT_NE(engine_->states().find(kMn), nullptr);
  engine_->expire(at_ms(100 + 75000));
  EXPECT_EQ(engine_->states().find(kMn), nullptr);
}

TEST_F(GatewayEngineTest, RestoreSkipsExpiredForeignAndDuplicateStates) {
  StateSnapshot saved;
  saved.saved_at_unix_ms = kWallMs;
  SavedState ok{kMn, kNat, kLocal, 60s, 1472, MtuSource::kConfigured, false, {}, 0};
  SavedState expired = ok;
  expired.mn = v6("fd00:db8:1:0:1::2");
  expired.remaining = 10s;
  SavedState outside = ok;
  outside.mn = v6("fd00:db8:2:0:1::3");  // not in the prefix
  SavedState unserved = ok;
  unserved.mn = v6("fd00:db8:1:0:1::4");
  unserved.local = ep("203.0.113.9:4500");  // no longer listened on
  saved.states = {ok, expired, outside, unserved, ok};
  const Endpoint4 listeners[] = {kLocal};
  // The gateway was away 20 s; a clock set back would count as no time (not tested here).
  const RestoreCounts n = engine_->restore(saved, listeners, kWallMs + 20000, at_ms(0));
  EXPECT_EQ(n.restored, 1u);
  EXPECT_EQ(n.expired, 1u);
  EXPECT_EQ(n.foreign, 2u);
  EXPECT_EQ(n.duplicate, 1u);
  EXPECT_EQ(engine_->states().active_count(), 1u);
}

TEST_F(GatewayEngineTest, AClockSetBackCountsAsNoTimeAway) {
  StateSnapshot saved;
  saved.saved_at_unix_ms = kWallMs;
  saved.states = {SavedState{kMn, kNat, kLocal, 60s, 1472, MtuSource::kConfigured, false, {}, 0}};
  const Endpoint4 listeners[] = {kLocal};
  EXPECT_EQ(engine_->restore(saved, listeners, kWallMs - 3600'000, at_ms(0)).restored, 1u);
  engine_->expire(at_ms(59999));
  EXPECT_NE(engine_->states().find(kMn), nullptr);
}

TEST_F(GatewayEngineTest, ALearnedPathMtuComesBackWithTheRestOfItsAgeInPathMtuMode) {
  use_pmtu_mode(600s);
  StateSnapshot saved;
  saved.saved_at_unix_ms = kWallMs;
  saved.states = {SavedState{kMn, kNat, kLocal, 60s, 1400, MtuSource::kIcmp, true, 100s, 0}};
  const Endpoint4 listeners[] = {kLocal};
  ASSERT_EQ(engine_->restore(saved, listeners, kWallMs + 30000, at_ms(0)).restored, 1u);
  const State* st = engine_->states().find(kMn);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->path.mtu, 1400u);
  EXPECT_EQ(st->path.source, MtuSource::kIcmp);
  EXPECT_EQ(st->path.expires, at_ms(70000));  // 100 s of age, 30 s spent away
  // Without path-MTU mode the path starts as configured.
  SetUp();
  ASSERT_EQ(engine_->restore(saved, listeners, kWallMs, at_ms(0)).restored, 1u);
  EXPECT_EQ(engine_->states().find(kMn)->path.mtu, 1472u);
  EXPECT_EQ(engine_->states().find(kMn)->path.source, MtuSource::kConfigured);
}

TEST_F(GatewayEngineTest, MoreSavedStatesThanTheTableHoldsRestoreTheLongestLivedAndCountTheRest) {
  // A file from a gateway with a larger --max-states (64 here): the table holds 64; the rest is
  // counted, never an error. Those with the most life left (the MNs heard from last) stay.
  StateSnapshot saved;
  saved.saved_at_unix_ms = kWallMs;
  for (int i = 0; i < 70; ++i) {
    Ipv6Addr mn = kMn;
    mn.b[15] = static_cast<std::uint8_t>(i);
    saved.states.push_back(SavedState{mn,
                                      kNat,
                                      kLocal,
                                      std::chrono::seconds(80 - i),
                                      1472,
                                      MtuSource::kConfigured,
                                      false,
                                      {},
                                      0});
  }
  const Endpoint4 listeners[] = {kLocal};
  const RestoreCounts n = engine_->restore(saved, listeners, kWallMs, at_ms(0));
  EXPECT_EQ(n.restored, 64u);
  EXPECT_EQ(n.full, 6u);
  Ipv6Addr shortest = kMn;
  shortest.b[15] = 69;  // 11 s left: among those left out
  EXPECT_EQ(engine_->states().find(shortest), nullptr);
  // The expiry list is in order: the first ends at 17 s, the next a second later.
  EXPECT_EQ(engine_->next_deadline(), at_ms(17000));
  engine_->expire(at_ms(17000));
  EXPECT_EQ(engine_->states().active_count(), 63u);
  engine_->expire(at_ms(17999));
  EXPECT_EQ(engine_->states().active_count(), 63u);
}

TEST_F(GatewayEngineTest, APeriodicSnapshotNeedsNoMirrorQueryAndGivesALowerBound) {
  establish(0);
  auto more = ipv6_packet(kMn, kHa);
  ASSERT_EQ(from_mn(more, kNat, kLocal, 20000).action, Action::kToTun);
  // Without folding, the lifetime still runs from the MN's last packet the core saw.
  const StateSnapshot s = engine_->snapshot(at_ms(30000), kWallMs, /*fold=*/false);
  ASSERT_EQ(s.states.size(), 1u);
  EXPECT_EQ(s.states[0].remaining, 80s);
}

}  // namespace
}  // namespace m6t::core
