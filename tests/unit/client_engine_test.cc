#include "core/client_engine.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "core/ipv6_packet.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using testing::ep;
using testing::ipv6_packet;
using testing::pfx;
using testing::v4;
using testing::v6;
using namespace std::chrono_literals;

const Ipv6Addr kHa = v6("2001:db8:1::2");
const Endpoint4 kGw1 = ep("203.0.113.2:4500");
const Endpoint4 kGw2 = ep("203.0.113.2:5500");
const Uplink kHome{true, v4("192.0.2.2"), v4("192.0.2.1"), 2};
const Uplink kHotel{true, v4("192.0.2.3"), v4("192.0.2.1"), 2};

class ClientEngineTest : public ::testing::Test {
 protected:
  static ClientConfig config() {
    ClientConfig c;
    c.prefix = pfx("fd00:db8:1:0:1::/80");
    c.gateways = {kGw1, kGw2};
    return c;
  }
  void SetUp() override { engine_ = std::make_unique<ClientEngine>(config(), rng_); }
  void use_pmtu_mode(Duration age = 600s) {
    ClientConfig c = config();
    c.pmtu_discovery = true;
    c.pmtu_age = age;
    engine_ = std::make_unique<ClientEngine>(c, rng_);
  }

  // Uplink up at `ms`, applied after the debounce; returns the time it was applied.
  std::int64_t attach(std::int64_t ms = 0, Uplink u = kHome) {
    engine_->set_uplink(u, at_ms(ms));
    engine_->expire(at_ms(ms + 250));
    return ms + 250;
  }
  std::vector<ClientEvent> events() {
    std::vector<ClientEvent> out;
    while (auto e = engine_->next_event())
      out.push_back(*e);
    return out;
  }
  std::vector<std::uint8_t> to_ha(std::size_t len = 8) {
    return ipv6_packet(*engine_->address(), kHa, len);
  }
  Verdict from_gateway(std::vector<std::uint8_t> p, std::int64_t ms, Endpoint4 from = {}) {
    if (from.port == 0) from = *engine_->gateway();
    datagram_ = std::move(p);
    return engine_->on_udp(from, datagram_, at_ms(ms));
  }
  Verdict answer(std::int64_t ms) {
    return from_gateway(ipv6_packet(kHa, *engine_->address()), ms);
  }
  Verdict keepalive_answer(std::int64_t ms) {
    auto ka = testing::keepalive(*engine_->address());
    make_keepalive_reply_in_place(ka);
    return from_gateway(ka, ms);
  }
  // Attached and confirmed by an answer of the gateway at `ms`.
  void up(std::int64_t ms = 0) {
    std::int64_t t = attach(ms);
    auto p = to_ha();
    ASSERT_EQ(engine_->on_tun(p, at_ms(t)).action, Action::kToUdp);
    ASSERT_EQ(answer(t).action, Action::kToTun);
    ASSERT_EQ(engine_->state(), ClientState::kUp);
    events();
  }

  testing::FakeRandom rng_;
  std::unique_ptr<ClientEngine> engine_;
  std::vector<std::uint8_t> datagram_;
};

// --- §3 attachment ------------------------------------------------------------------------

// --- gateways given by name (resolved by the daemon) --------------------------------------

TEST_F(ClientEngineTest, NoGatewayAddressYetMeansNoAttachmentUntilOneComes) {
  ClientConfig c = config();
  c.gateways.clear();  // one name, not resolved yet
  engine_ = std::make_unique<ClientEngine>(c, rng_);
  attach(0);
  EXPECT_FALSE(engine_->address());
  EXPECT_TRUE(events().empty());
  engine_->set_gateways({kGw2}, at_ms(300));
  ASSERT_TRUE(engine_->address());
  EXPECT_EQ(engine_->gateway(), kGw2);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].change, Change::kUp);
}

TEST_F(ClientEngineTest, ANewResolutionKeepsTheGatewayInUseOrMovesOffOneThatIsGone) {
  up(0);
  const auto addr = engine_->address();
  ASSERT_EQ(engine_->gateway(), kGw1);
  engine_->set_gateways({kGw2, kGw1}, at_ms(1000));  // same address, another place
  EXPECT_EQ(engine_->address(), addr);
  EXPECT_EQ(engine_->gateway(), kGw1);
  EXPECT_TRUE(events().empty());
  const Endpoint4 moved = ep("198.51.100.9:4500");
  engine_->set_gateways({moved}, at_ms(2000));  // the name now points elsewhere
  EXPECT_NE(engine_->address(), addr);          // §3: a new attachment, a new address
  EXPECT_EQ(engine_->gateway(), moved);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].change, Change::kChanged);
}

TEST_F(ClientEngineTest, NoIpv4MeansNoAddressAndNothingSent) {
  EXPECT_EQ(engine_->state(), ClientState::kNoUplink);
  EXPECT_FALSE(engine_->address());
  auto p = ipv6_packet(v6("fd00:db8:1:0:1::5"), kHa);
  EXPECT_EQ(engine_->on_tun(p, at_ms(0)).drop, Drop::kNotAttached);
  EXPECT_FALSE(engine_->next_deadline());
}

TEST_F(ClientEngineTest, Ipv4ConnectivityGivesAnAddressInThePrefix) {
  rng_.script(0x0000123456789abcULL);
  attach(0);
  ASSERT_TRUE(engine_->address());
  EXPECT_EQ(*engine_->address(), v6("fd00:db8:1:0:1:1234:5678:9abc"));
  EXPECT_EQ(engine_->state(), ClientState::kProbing);
  EXPECT_EQ(*engine_->gateway(), kGw1);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].change, Change::kUp);
  EXPECT_EQ(ev[0].reason, AttachReason::kUplinkUp);
  EXPECT_EQ(ev[0].address, engine_->address());
  EXPECT_FALSE(ev[0].old_address);
}

TEST_F(ClientEngineTest, ChangesApplyOnlyAfterTheDebounce) {
  engine_->set_uplink(kHome, at_ms(0));
  EXPECT_EQ(engine_->next_deadline(), at_ms(250));
  engine_->expire(at_ms(249));
  EXPECT_FALSE(engine_->address());
  engine_->expire(at_ms(250));
  EXPECT_TRUE(engine_->address());
}

TEST_F(ClientEngineTest, EachChangeRestartsTheDebounce) {
  engine_->set_uplink(kHome, at_ms(0));
  engine_->set_uplink(kHotel, at_ms(200));
  engine_->expire(at_ms(250));
  EXPECT_FALSE(engine_->address());
  engine_->expire(at_ms(450));
  EXPECT_TRUE(engine_->address());
  EXPECT_EQ(engine_->uplink(), kHotel);
}

TEST_F(ClientEngineTest, AFlapThatRevertsDoesNotChurn) {
  attach(0);
  events();
  Ipv6Addr before = *engine_->address();
  engine_->set_uplink(Uplink{}, at_ms(1000));  // address gone...
  engine_->set_uplink(kHome, at_ms(1100));     // ...and back, same one
  engine_->expire(at_ms(2000));
  EXPECT_EQ(*engine_->address(), before);
  EXPECT_TRUE(events().empty());
}

TEST_F(ClientEngineTest, NewAttachmentGivesANewRandomValueAndRemovesTheOld) {
  attach(0);
  events();
  Ipv6Addr first = *engine_->address();
  attach(1000, kHotel);
  Ipv6Addr second = *engine_->address();
  EXPECT_NE(first, second);
  EXPECT_TRUE(config().prefix.contains(second));
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].change, Change::kChanged);
  EXPECT_EQ(ev[0].reason, AttachReason::kUplinkChanged);
  EXPECT_EQ(ev[0].old_address, first);
  EXPECT_EQ(ev[0].address, second);
}

TEST_F(ClientEngineTest, SameRandomValueIsNeverReusedForTheNextAttachment) {
  rng_.script(0x42);
  attach(0);
  rng_.script(0x42);  // the draw repeats: must be drawn again
  rng_.script(0x43);
  attach(1000, kHotel);
  EXPECT_EQ(random48_of(*engine_->address()), 0x43u);
}

TEST_F(ClientEngineTest, LosingIpv4WithdrawsTheAddress) {
  attach(0);
  events();
  Ipv6Addr had = *engine_->address();
  engine_->set_uplink(Uplink{}, at_ms(1000));
  engine_->expire(at_ms(1250));
  EXPECT_FALSE(engine_->address());
  EXPECT_EQ(engine_->state(), ClientState::kNoUplink);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].change, Change::kDown);
  EXPECT_EQ(ev[0].reason, AttachReason::kUplinkLost);
  EXPECT_EQ(ev[0].old_address, had);
  attach(2000);
  ASSERT_TRUE(engine_->address());
  EXPECT_EQ(events()[0].change, Change::kUp);
}

// --- §2.3 keepalives ------------------------------------------------------------------------

TEST_F(ClientEngineTest, NoKeepaliveBeforeTheGatewayHoldsAnActiveState) {
  attach(0);
  for (int t = 0; t < 120000; t += 1000)
    EXPECT_FALSE(engine_->expire(at_ms(t)));
  EXPECT_EQ(engine_->counters().keepalives_sent.packets, 0u);
}

TEST_F(ClientEngineTest, KeepaliveAfterTheIdleIntervalWithTheDraftLayout) {
  up(0);  // last packet each way at 250 ms
  EXPECT_EQ(engine_->next_deadline(), at_ms(30250));
  EXPECT_FALSE(engine_->expire(at_ms(30249)));
  EXPECT_TRUE(engine_->expire(at_ms(30250)));
  auto d = decode_ipv6(engine_->keepalive_packet(), 1472);
  ASSERT_TRUE(d);
  EXPECT_TRUE(is_keepalive(*d));
  EXPECT_EQ(d->src(), *engine_->address());
}

TEST_F(ClientEngineTest, IdleInEitherDirectionTriggersTheKeepalive) {
  up(0);
  // Only receiving: the send direction is idle.
  for (int t = 1000; t <= 29000; t += 1000)
    ASSERT_EQ(answer(t).action, Action::kToTun);
  EXPECT_TRUE(engine_->expire(at_ms(30250)));
}

TEST_F(ClientEngineTest, KeepaliveIntervalIsConfigurable) {
  ClientConfig c = config();
  c.keepalive_interval = 4s;
  engine_ = std::make_unique<ClientEngine>(c, rng_);
  up(0);
  EXPECT_EQ(engine_->next_deadline(), at_ms(4250));
}

TEST_F(ClientEngineTest, TrafficBothWaysPostponesTheKeepalive) {
  up(0);
  for (int t = 1000; t <= 100000; t += 1000) {
    auto p = to_ha();
    engine_->on_tun(p, at_ms(t));
    answer(t);
    ASSERT_FALSE(engine_->expire(at_ms(t)));
  }
  EXPECT_EQ(engine_->counters().keepalives_sent.packets, 0u);
}

TEST_F(ClientEngineTest, AnsweredKeepaliveMeansAlive) {
  up(0);
  ASSERT_TRUE(engine_->expire(at_ms(30250)));
  EXPECT_EQ(engine_->liveness(), Liveness::kSuspect);
  Verdict v = keepalive_answer(30300);
  EXPECT_EQ(v.action, Action::kConsumed) << "keepalive answers never reach the host";
  EXPECT_EQ(engine_->liveness(), Liveness::kAlive);
  EXPECT_EQ(engine_->last_keepalive_answered(), at_ms(30300));
  EXPECT_EQ(engine_->next_deadline(), at_ms(60250)) << "idle: next one an interval later";
}

TEST_F(ClientEngineTest, UnansweredSendsAreCheckedWithAKeepaliveSoon) {
  up(0);
  auto p = to_ha();
  engine_->on_tun(p, at_ms(1000));
  EXPECT_EQ(engine_->next_deadline(), at_ms(4000)) << "probe_after = 3 s";
  EXPECT_TRUE(engine_->expire(at_ms(4000)));
}

// --- §2.1/§2.7 liveness, fallback and back-off ------------------------------------------

TEST_F(ClientEngineTest, UnansweredKeepalivesMoveToTheNextGatewayWithANewAddress) {
  up(0);
  Ipv6Addr old = *engine_->address();
  EXPECT_TRUE(engine_->expire(at_ms(30250)));  // 1
  EXPECT_TRUE(engine_->expire(at_ms(31250)));  // 2 (retry after 1 s)
  EXPECT_TRUE(engine_->expire(at_ms(32250)));  // 3
  EXPECT_EQ(engine_->next_deadline(), at_ms(33250));
  EXPECT_FALSE(engine_->expire(at_ms(33250)));
  EXPECT_EQ(*engine_->gateway(), kGw2);
  EXPECT_NE(*engine_->address(), old) << "so that MIPv6 re-registers";
  EXPECT_EQ(engine_->state(), ClientState::kProbing);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, AttachReason::kGatewayLost);
  EXPECT_EQ(ev[0].gateway, kGw2);
}

TEST_F(ClientEngineTest, SingleGatewayThatLostStateGetsANewAddressAtOnce) {
  ClientConfig c = config();
  c.gateways = {kGw1};
  engine_ = std::make_unique<ClientEngine>(c, rng_);
  up(0);
  Ipv6Addr old = *engine_->address();
  for (int t : {30250, 31250, 32250})
    EXPECT_TRUE(engine_->expire(at_ms(t)));
  engine_->expire(at_ms(33250));
  EXPECT_EQ(*engine_->gateway(), kGw1);
  EXPECT_NE(*engine_->address(), old);
  EXPECT_EQ(engine_->state(), ClientState::kProbing);
}

TEST_F(ClientEngineTest, UnansweredFirstPacketsMoveToTheNextGateway) {
  std::int64_t t = attach(0);
  events();
  Ipv6Addr first = *engine_->address();
  auto p = to_ha();
  engine_->on_tun(p, at_ms(t));
  EXPECT_EQ(engine_->next_deadline(), at_ms(t + 6000));
  engine_->expire(at_ms(t + 5999));
  EXPECT_EQ(*engine_->gateway(), kGw1);
  engine_->expire(at_ms(t + 6000));
  EXPECT_EQ(*engine_->gateway(), kGw2);
  EXPECT_NE(*engine_->address(), first);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, AttachReason::kGatewayUnreachable);
}

TEST_F(ClientEngineTest, WhenNoGatewayAnswersItBacksOffExponentiallyWithABound) {
  std::int64_t t = attach(0);
  std::vector<std::int64_t> waits;
  for (int round = 0; round < 10; ++round) {
    // Both gateways fail in turn...
    for (int g = 0; g < 2; ++g) {
      auto p = to_ha();
      engine_->on_tun(p, at_ms(t));
      t += 6000;
      engine_->expire(at_ms(t));
    }
    ASSERT_EQ(engine_->state(), ClientState::kBackoff) << round;
    EXPECT_EQ(engine_->liveness(), Liveness::kDead);
    std::int64_t until =
        std::chrono::ceil<std::chrono::milliseconds>(engine_->backoff_until()->time_since_epoch())
            .count();
    waits.push_back(until - t);
    t = until;
    engine_->expire(at_ms(t));  // ...then it starts over with the first
    ASSERT_EQ(engine_->state(), ClientState::kProbing);
    ASSERT_EQ(*engine_->gateway(), kGw1);
  }
  // Jittered in [d/2, d] with d = 1, 2, 4, ... 64 s, then capped.
  for (std::size_t i = 0; i < waits.size(); ++i) {
    std::int64_t d = std::min<std::int64_t>(1000LL << i, 64000);
    EXPECT_GE(waits[i], d / 2) << i;
    EXPECT_LE(waits[i], d) << i;
  }
}

TEST_F(ClientEngineTest, AnAnswerDuringBackoffBringsTheTunnelUp) {
  ClientConfig c = config();
  c.gateways = {kGw1};
  engine_ = std::make_unique<ClientEngine>(c, rng_);
  std::int64_t t = attach(0);
  auto p = to_ha();
  engine_->on_tun(p, at_ms(t));
  engine_->expire(at_ms(t + 6000));
  ASSERT_EQ(engine_->state(), ClientState::kBackoff);
  Ipv6Addr addr = *engine_->address();
  EXPECT_EQ(answer(t + 6100).action, Action::kToTun) << "the address stays during back-off";
  EXPECT_EQ(engine_->state(), ClientState::kUp);
  EXPECT_EQ(*engine_->address(), addr);
}

// --- Sleep ---------------------------------------------------------------------------------

TEST_F(ClientEngineTest, ResumeFromSuspendIsANewAttachment) {
  up(0);
  Ipv6Addr before = *engine_->address();
  engine_->observe_sleep_offset(5s, at_ms(1000));
  engine_->observe_sleep_offset(5s + 1999ms, at_ms(2000));
  EXPECT_EQ(*engine_->address(), before) << "under the threshold: no change";
  engine_->observe_sleep_offset(5s + 1999ms + 2s, at_ms(3000));
  EXPECT_NE(*engine_->address(), before);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, AttachReason::kResume);
}

TEST_F(ClientEngineTest, ResumeWithoutIpv4ChangesNothing) {
  engine_->observe_sleep_offset(0s, at_ms(0));
  engine_->observe_sleep_offset(100s, at_ms(1));
  EXPECT_FALSE(engine_->address());
  EXPECT_TRUE(events().empty());
}

// --- Filtering --------------------------------------------------------------------------------

TEST_F(ClientEngineTest, HostPacketsMustComeFromTheTunnelAddressToAUnicastDestination) {
  attach(0);
  auto other_src = ipv6_packet(v6("fd00:db8:1:0:1::1"), kHa);
  EXPECT_EQ(engine_->on_tun(other_src, at_ms(300)).drop, Drop::kSrcNotTunnelAddress);
  auto mld = ipv6_packet(*engine_->address(), v6("ff02::16"));
  EXPECT_EQ(engine_->on_tun(mld, at_ms(300)).drop, Drop::kDstInvalid);
  auto ll = ipv6_packet(*engine_->address(), v6("fe80::1"), 8);
  EXPECT_EQ(engine_->on_tun(ll, at_ms(300)).drop, Drop::kDstInvalid);
  auto ok = to_ha();
  Verdict v = engine_->on_tun(ok, at_ms(300));
  ASSERT_EQ(v.action, Action::kToUdp);
  EXPECT_EQ(v.to.remote, kGw1);
}

TEST_F(ClientEngineTest, DatagramsMustComeFromTheGatewayForTheTunnelAddress) {
  attach(0);
  Ipv6Addr me = *engine_->address();
  EXPECT_EQ(from_gateway(ipv6_packet(kHa, me), 300, kGw2).drop, Drop::kNotFromGateway);
  EXPECT_EQ(from_gateway(ipv6_packet(kHa, v6("fd00:db8:1:0:1::9")), 300).drop,
            Drop::kDstNotTunnelAddress);
  EXPECT_EQ(from_gateway(ipv6_packet(v6("fe80::5"), me), 300).drop, Drop::kSrcInvalid)
      << "a Router Advertisement through the tunnel must not reach the host";
  EXPECT_EQ(from_gateway(ipv6_packet(kHa, me, 1433), 300).drop, Drop::kOversized);
  std::vector<std::uint8_t> junk(12, 0x60);
  EXPECT_EQ(from_gateway(junk, 300).drop, Drop::kTruncated);
  EXPECT_EQ(engine_->state(), ClientState::kProbing) << "no junk proves the gateway alive";
  EXPECT_EQ(from_gateway(ipv6_packet(kHa, me), 300).action, Action::kToTun);
  EXPECT_EQ(engine_->state(), ClientState::kUp);
}

// --- §2.5 siblings sharing a /80 ----------------------------------------------------------

class SetClaims final : public Random48Claims {
 public:
  bool claim(std::uint64_t v) override { return held.insert(v).second; }
  void release(std::uint64_t v) override { held.erase(v); }
  std::set<std::uint64_t> held;
};

TEST_F(ClientEngineTest, SiblingsSharingAPrefixNeverHoldTheSameValue) {
  SetClaims claims;
  testing::FakeRandom r1, r2;
  ClientEngine a(config(), r1, &claims), b(config(), r2, &claims);
  r1.script(0x77);
  r2.script(0x77);  // the sibling draws the same value: it must draw again
  r2.script(0x78);
  a.set_uplink(kHome, at_ms(0));
  b.set_uplink(kHotel, at_ms(0));
  a.expire(at_ms(250));
  b.expire(at_ms(250));
  EXPECT_EQ(random48_of(*a.address()), 0x77u);
  EXPECT_EQ(random48_of(*b.address()), 0x78u);
  EXPECT_EQ(claims.held, (std::set<std::uint64_t>{0x77, 0x78}));
  a.shutdown(at_ms(300));
  EXPECT_EQ(claims.held, (std::set<std::uint64_t>{0x78})) << "released on shutdown";
}

TEST_F(ClientEngineTest, HistoryKeepsTheLastAttachments) {
  for (int i = 0; i < 20; ++i)
    attach(i * 1000, i % 2 ? kHotel : kHome);
  EXPECT_EQ(engine_->history().size(), 16u);
  EXPECT_EQ(engine_->history().back().address, engine_->address());
}

// --- Path-MTU mode --------------------------------------------------------------

TEST_F(ClientEngineTest, FragNeededLowersTheTunnelMtuAndTheHostGetsPacketTooBig) {
  use_pmtu_mode();
  up(0);
  Ipv6Addr me = *engine_->address();
  auto big = ipv6_packet(me, kHa, 1432);
  Verdict sent = engine_->on_tun(big, at_ms(300));
  ASSERT_EQ(sent.action, Action::kToUdp);
  EXPECT_TRUE(sent.df);

  std::vector<std::uint8_t> quote(big.begin(), big.begin() + 64);
  Verdict v = engine_->on_frag_needed({0, kGw1, 1400, quote}, at_ms(301));
  EXPECT_EQ(engine_->path_mtu().mtu, 1372u);
  EXPECT_EQ(engine_->path_mtu().source, MtuSource::kIcmp);
  ASSERT_EQ(v.action, Action::kToTun) << "the host learns at once";
  auto d = decode_ipv6(v.packet, 1280);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dst(), me);
  EXPECT_EQ(d->src(), v6("fd00:db8:1:0:1::")) << "the /80's own address, never a tunnel address";
  EXPECT_EQ((v.packet[46] << 8) | v.packet[47], 1372);

  // The host's next oversized packet is answered by the client itself.
  Verdict again = engine_->on_tun(big, at_ms(302));
  ASSERT_EQ(again.action, Action::kToTun);
  EXPECT_EQ(again.drop, Drop::kTooBig);
  EXPECT_EQ((again.packet[46] << 8) | again.packet[47], 1372);
  auto fits = ipv6_packet(me, kHa, 1332);
  EXPECT_EQ(engine_->on_tun(fits, at_ms(303)).action, Action::kToUdp);
  EXPECT_EQ(engine_->counters().too_big_sent.packets, 2u);
}

TEST_F(ClientEngineTest, FragNeededAboutAnotherDestinationOrInDefaultModeChangesNothing) {
  up(0);
  Ipv6Addr me = *engine_->address();
  auto big = ipv6_packet(me, kHa, 1432);
  std::vector<std::uint8_t> quote(big.begin(), big.begin() + 64);
  EXPECT_EQ(engine_->on_frag_needed({0, kGw1, 1400, quote}, at_ms(1)).action, Action::kConsumed);
  EXPECT_EQ(engine_->path_mtu().mtu, 1472u) << "default mode: DF is clear, nothing to learn";
  EXPECT_FALSE(engine_->on_tun(big, at_ms(2)).df);

  use_pmtu_mode();
  up(0);
  me = *engine_->address();
  big = ipv6_packet(me, kHa, 1432);
  quote.assign(big.begin(), big.begin() + 64);
  engine_->on_frag_needed({0, kGw2, 1400, quote}, at_ms(1));  // not the gateway in use
  auto other = ipv6_packet(v6("fd00:db8:1:0:1:1:2:3"), kHa, 1432);
  std::vector<std::uint8_t> other_quote(other.begin(), other.begin() + 64);
  engine_->on_frag_needed({0, kGw1, 1400, other_quote}, at_ms(1));  // not our packet
  EXPECT_EQ(engine_->path_mtu().mtu, 1472u);
  EXPECT_EQ(engine_->counters().pmtu.unattributed, 2u);
}

TEST_F(ClientEngineTest, LearnedTunnelMtuAgesOutOnTheTimerAndANewAttachmentStartsOver) {
  use_pmtu_mode(10s);
  up(0);
  Ipv6Addr me = *engine_->address();
  auto big = ipv6_packet(me, kHa, 1432);
  std::vector<std::uint8_t> quote(big.begin(), big.begin() + 64);
  engine_->on_frag_needed({0, kGw1, 1200, quote}, at_ms(1000));
  EXPECT_EQ(engine_->path_mtu().mtu, 1280u);
  EXPECT_FALSE(engine_->path_mtu().df) << "below 1280: fragmentation again";
  auto min = ipv6_packet(me, kHa, 1240);
  Verdict v = engine_->on_tun(min, at_ms(1001));
  EXPECT_EQ(v.action, Action::kToUdp);
  EXPECT_FALSE(v.df);
  ASSERT_TRUE(engine_->next_deadline());
  EXPECT_LE(*engine_->next_deadline(), at_ms(11000));
  engine_->expire(at_ms(11000));
  EXPECT_EQ(engine_->path_mtu().mtu, 1472u);
  EXPECT_EQ(engine_->path_mtu().source, MtuSource::kAged);
  EXPECT_TRUE(engine_->path_mtu().df);
  EXPECT_EQ(engine_->counters().pmtu.aged, 1u);

  engine_->on_frag_needed({0, kGw1, 1400, quote}, at_ms(12000));
  ASSERT_EQ(engine_->path_mtu().mtu, 1372u);
  engine_->set_uplink(kHotel, at_ms(13000));
  engine_->expire(at_ms(13250));
  EXPECT_EQ(engine_->path_mtu().mtu, 1472u) << "a new network is a new path";
  EXPECT_EQ(engine_->path_mtu().source, MtuSource::kConfigured);
}

TEST_F(ClientEngineTest, PacketTooBigTowardTheHostIsRateLimited) {
  use_pmtu_mode();
  up(0);
  Ipv6Addr me = *engine_->address();
  auto big = ipv6_packet(me, kHa, 1432);
  std::vector<std::uint8_t> quote(big.begin(), big.begin() + 64);
  engine_->on_frag_needed({0, kGw1, 1400, quote}, at_ms(300));
  int sent = 0;
  for (int i = 0; i < 100; ++i)
    if (engine_->on_tun(big, at_ms(300)).action == Action::kToTun) ++sent;
  EXPECT_EQ(sent, 19) << "the burst of 20, one of which the relayed error took";
  EXPECT_EQ(engine_->counters().icmp_rate_limited, 81u);
  EXPECT_EQ(engine_->counters().drops[Drop::kTooBig], 100u);
}

}  // namespace
}  // namespace m6t::core

// --- the fast path's mirror of the tunnel ------------------------------------------------------

namespace m6t::core {
namespace {

class RecordingTunnelMirror final : public TunnelMirror {
 public:
  void activated(const TunnelBinding& t) override {
    calls.push_back("activated " + t.address.to_string() + " " + t.gateway.to_string());
  }
  void path_changed(const TunnelBinding& t) override {
    calls.push_back("path " + std::to_string(t.mtu) + (t.df ? " df" : ""));
  }
  void removed() override { calls.push_back("removed"); }
  std::optional<TunnelActivity> activity() const override { return seen; }
  std::vector<std::string> calls;
  std::optional<TunnelActivity> seen;
};

class ClientMirrorTest : public ClientEngineTest {
 protected:
  void SetUp() override {
    ClientEngineTest::SetUp();
    engine_->set_mirror(&mirror_);
  }
  RecordingTunnelMirror mirror_;
};

TEST_F(ClientMirrorTest, MirroredOnlyOnceTheGatewayAnswered) {
  attach(0);
  auto p = to_ha();
  ASSERT_EQ(engine_->on_tun(p, at_ms(250)).action, Action::kToUdp);
  EXPECT_TRUE(mirror_.calls.empty()) << "probing: the first packets are the engine's (§3)";
  ASSERT_EQ(answer(300).action, Action::kToTun);
  ASSERT_EQ(mirror_.calls.size(), 1u);
  EXPECT_EQ(mirror_.calls[0],
            "activated " + engine_->address()->to_string() + " " + kGw1.to_string());
}

TEST_F(ClientMirrorTest, AnIpv4ChangeStopsTheMirrorAtOnceAndAFlapBringsItBack) {
  up(0);
  mirror_.calls.clear();
  engine_->set_uplink(kHotel, at_ms(1000));
  EXPECT_EQ(mirror_.calls, (std::vector<std::string>{"removed"}))
      << "never send from an address the host may have lost";
  engine_->set_uplink(kHome, at_ms(1100));  // reverted within the debounce time
  ASSERT_EQ(mirror_.calls.size(), 2u);
  EXPECT_EQ(mirror_.calls[1].rfind("activated ", 0), 0u);
  engine_->set_uplink(kHotel, at_ms(2000));
  engine_->expire(at_ms(2250));  // applied: a new attachment, probing again
  EXPECT_EQ(mirror_.calls.back(), "removed");
  EXPECT_EQ(engine_->state(), ClientState::kProbing);
}

TEST_F(ClientMirrorTest, WhatTheFastPathCarriedKeepsTheKeepaliveAway) {
  up(0);  // answered at 250 ms
  // §2.3: idle in either direction for 30 s; the fast path carried traffic both ways at 20 s.
  mirror_.seen = TunnelActivity{{3, 300}, {3, 300}, at_ms(20000), at_ms(20000), std::nullopt};
  EXPECT_FALSE(engine_->expire(at_ms(30250))) << "not idle: no keepalive";
  EXPECT_EQ(engine_->next_deadline(), at_ms(33250)) << "the next read of the fast path's news";
  EXPECT_FALSE(engine_->expire(at_ms(33250)));
  mirror_.seen->last_sent = at_ms(40000);  // sent, never answered since 40 s
  mirror_.seen->awaiting_since = at_ms(40000);
  EXPECT_TRUE(engine_->expire(at_ms(50000))) << "idle toward the host: a keepalive";
}

TEST_F(ClientMirrorTest, UnansweredFastPathTrafficIsProbedInTime) {
  up(0);
  // The host sends at 1 s through the fast path; nothing comes back.
  mirror_.seen = TunnelActivity{{1, 100}, {}, at_ms(1000), std::nullopt, at_ms(1000)};
  EXPECT_FALSE(engine_->expire(at_ms(3250))) << "read at probe_after: the probe is due at 4 s";
  EXPECT_EQ(engine_->next_deadline(), at_ms(4000));
  EXPECT_TRUE(engine_->expire(at_ms(4000))) << "sent with no answer for 3 s: a keepalive";
}

TEST_F(ClientMirrorTest, PathMtuChangesReachTheMirror) {
  use_pmtu_mode();
  engine_->set_mirror(&mirror_);
  up(0);
  mirror_.calls.clear();
  auto quoted = to_ha(1472 - 40);
  FragNeeded f{0, kGw1, 1400, quoted};
  engine_->on_frag_needed(f, at_ms(1000));
  ASSERT_FALSE(mirror_.calls.empty());
  EXPECT_EQ(mirror_.calls.back(), "path 1372 df");
}

}  // namespace
}  // namespace m6t::core
