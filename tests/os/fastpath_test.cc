// The fast path's programs against the engines, case by case (BPF_PROG_TEST_RUN): every packet
// the programs forward, the engine forwards too, and the bytes they produce are those the
// user-space path would send; every packet of the draft's other cases (mismatching bindings,
// temporary or unknown states, keepalives, oversized packets, bad headers) is left alone,
// unchanged, for the engine. The maps are written by the engines themselves, through the
// programs' mirrors, as in the daemons. Needs root (loading eBPF programs).
#include "os/fastpath.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>

#include "core/client_engine.h"
#include "core/gateway_engine.h"
#include "core/ipv6_packet.h"
#include "os/clock.h"
#include "support/fake_random.h"
#include "support/fastpath_agreement.h"
#include "support/frames.h"
#include "support/packets.h"
#include "test_util.h"

namespace m6t::os {
namespace {

using core::Action;
using namespace m6t::testing;

constexpr int kLeave = -1;    // TC_ACT_UNSPEC
constexpr int kRedirect = 7;  // TC_ACT_REDIRECT
constexpr int kLoopback = 1;  // an interface the test-run kernel knows (MTU 65536)

const core::Ipv6Addr kHa = v6("2001:db8:1::2");
const core::Endpoint4 kListen = ep("203.0.113.2:4500");
const core::Endpoint4 kNat = ep("198.51.100.7:40000");
const core::Ipv6Addr kMnA = v6("fd00:db8:1:0:1:0:0:a1");
const core::Ipv6Addr kMnB = v6("fd00:db8:1:0:2:0:0:b2");

class FastPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) M6T_PRECONDITION_MISSING("loading eBPF programs needs root");
  }
};

class GatewayFastPathTest : public FastPathTest {
 protected:
  void SetUp() override {
    FastPathTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    core::GatewayConfig c;
    c.mn_prefix = pfx("fd00:db8:1::/48");
    c.home_agents = {kHa};
    c.states.max_states = 64;
    c.states.max_temp_states = 32;
    config_ = c;
    GatewayFastPath::Config fc;
    fc.tun_ifindex = kLoopback;
    fc.mtu = c.mtu;
    fc.max_states = c.states.max_states;
    fc.listen = {kListen};
    fc.home_agents = c.home_agents;
    auto fp = GatewayFastPath::open_for_test(fc);
    ASSERT_TRUE(fp) << fp.error();
    fp_ = std::move(*fp);
    engine_ = std::make_unique<core::GatewayEngine>(config_, rng_);
    engine_->set_mirror(fp_.get());
  }

  core::UdpIn in(const core::Endpoint4& remote, const core::Endpoint4& local = kListen) {
    return {remote, local, 0, static_cast<std::uint32_t>(kLoopback)};
  }

  // An active state for `mn` from `nat`, made the way the daemon makes one: a first packet
  // to the HA, then the HA's answer (§3).
  void activate(const core::Ipv6Addr& mn, const core::Endpoint4& nat = kNat) {
    auto first = ipv6_packet(mn, kHa);
    ASSERT_EQ(engine_->on_udp(in(nat), first, now()).action, Action::kToTun);
    auto answer = ipv6_packet(kHa, mn);
    ASSERT_EQ(engine_->on_tun(answer, now(), scratch_).action, Action::kToUdp);
    ASSERT_EQ(engine_->states().find(mn)->kind, core::StateKind::kActive);
  }

  // The programs stamp activity with CLOCK_MONOTONIC: the engine's clock must be that one.
  core::Time now() { return start_ + std::chrono::milliseconds(++ms_); }

  // One datagram through both: the program, then the engine. Returns the program's verdict.
  int from_nat(const Datagram& d, std::vector<std::uint8_t> payload) {
    const std::vector<std::uint8_t> frame = udp_frame(d, payload);
    auto r = fp_->run(FastPathProgram::kFromPeer, frame);
    EXPECT_TRUE(r) << r.error();
    if (!r) return 0;
    core::Verdict v = engine_->on_udp(in(d.src, d.dst), payload, now());
    EXPECT_EQ(decapsulation_agrees(*r, frame, v), "");
    return r->verdict;
  }

  // One packet routed into the TUN device through both.
  int to_mn(const std::vector<std::uint8_t>& packet) {
    const std::vector<std::uint8_t> frame = ipv6_frame(packet);
    auto r = fp_->run(FastPathProgram::kToPeer, frame);
    EXPECT_TRUE(r) << r.error();
    if (!r) return 0;
    core::Verdict v = engine_->on_tun(packet, now(), scratch_);
    EXPECT_EQ(encapsulation_agrees(*r, frame, packet, v, v.to.local), "");
    return r->verdict;
  }

  Datagram from(const core::Endpoint4& nat = kNat, const core::Endpoint4& to = kListen) {
    Datagram d;
    d.src = nat;
    d.dst = to;
    return d;
  }

  core::GatewayConfig config_;
  m6t::testing::FakeRandom rng_;
  std::unique_ptr<GatewayFastPath> fp_;
  std::unique_ptr<core::GatewayEngine> engine_;
  std::vector<std::uint8_t> scratch_ = std::vector<std::uint8_t>(wire::kIcmpv6ErrorMaxLen);
  const core::Time start_ = mono_now();
  std::int64_t ms_ = 0;
};

TEST_F(GatewayFastPathTest, AnActiveStatesMatchingDatagramIsForwardedAsTheEngineWould) {
  activate(kMnA);
  EXPECT_EQ(from_nat(from(), ipv6_packet(kMnA, kHa, 100)), kRedirect);
  EXPECT_EQ(from_nat(from(), ipv6_packet(kMnA, kHa, 1432)), kRedirect) << "exactly the MTU";
  auto a = fp_->activity(*engine_->states().find(kMnA));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->from_mn.packets, 2u);
  EXPECT_EQ(a->from_mn.bytes, 140u + 1472u);
  EXPECT_TRUE(a->last_from_mn);
}

TEST_F(GatewayFastPathTest, BindingMismatchesAreLeftToTheEngine) {
  activate(kMnA);
  // §2.4: another NAT port, another NAT address, another of our listening ports.
  EXPECT_EQ(from_nat(from(ep("198.51.100.7:40001")), ipv6_packet(kMnA, kHa)), kLeave);
  EXPECT_EQ(from_nat(from(ep("198.51.100.8:40000")), ipv6_packet(kMnA, kHa)), kLeave);
  EXPECT_EQ(engine_->counters().drops[core::Drop::kBindingMismatch], 2u);
  EXPECT_EQ(engine_->states().find(kMnA)->binding.remote, kNat) << "never updated";
}

TEST_F(GatewayFastPathTest, TemporaryAndUnknownStatesAreTheEngines) {
  auto first = ipv6_packet(kMnB, kHa);
  EXPECT_EQ(from_nat(from(ep("198.51.100.9:1000")), first), kLeave) << "unknown: a first packet";
  EXPECT_EQ(engine_->states().find(kMnB)->kind, core::StateKind::kTemporary);
  EXPECT_EQ(from_nat(from(ep("198.51.100.9:1000")), first), kLeave) << "temporary (§2.4)";
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnB)), kLeave) << "the HA's answer activates it (§3)";
  EXPECT_EQ(engine_->states().find(kMnB)->kind, core::StateKind::kActive);
  EXPECT_EQ(from_nat(from(ep("198.51.100.9:1000")), first), kRedirect) << "now active";
}

TEST_F(GatewayFastPathTest, KeepalivesAndNonHomeAgentDestinationsAreTheEngines) {
  activate(kMnA);
  EXPECT_EQ(from_nat(from(), keepalive(kMnA)), kLeave) << "§2.3: answered by the engine";
  EXPECT_EQ(engine_->counters().keepalives.packets, 1u);
  EXPECT_EQ(from_nat(from(), ipv6_packet(kMnA, v6("2001:db8:1::99"))), kLeave) << "§6.1.3";
  EXPECT_EQ(engine_->counters().drops[core::Drop::kDstNotHomeAgent], 1u);
}

TEST_F(GatewayFastPathTest, OversizedAndMalformedDatagramsAreTheEngines) {
  activate(kMnA);
  EXPECT_EQ(from_nat(from(), ipv6_packet(kMnA, kHa, 1433)), kLeave) << "over the MTU";
  auto bad_version = ipv6_packet(kMnA, kHa);
  bad_version[0] = 0x40;
  EXPECT_EQ(from_nat(from(), bad_version), kLeave);
  auto long_claim = ipv6_packet(kMnA, kHa, 8);
  long_claim[5] = 9;  // payload length 9, 8 present
  EXPECT_EQ(from_nat(from(), long_claim), kLeave);
  EXPECT_EQ(from_nat(from(), std::vector<std::uint8_t>(39, 0x60)), kLeave) << "truncated";
  EXPECT_EQ(from_nat(from(), {}), kLeave) << "empty";
}

TEST_F(GatewayFastPathTest, OuterHeadersItDoesNotParseAreLeftAlone) {
  activate(kMnA);
  auto p = ipv6_packet(kMnA, kHa);
  Datagram options = from();
  options.ihl = 6;
  Datagram fragment = from();
  fragment.frag = 0x2000;  // MF: the first of several
  Datagram lying = from();
  lying.udp_len_delta = -1;
  Datagram partial = from();
  partial.checksum = Datagram::Checksum::kPartial;
  Datagram zero = from();
  zero.checksum = Datagram::Checksum::kZero;
  for (const Datagram& d : {options, fragment, lying, partial}) {
    auto frame = udp_frame(d, p);
    auto r = fp_->run(FastPathProgram::kFromPeer, frame);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->verdict, kLeave);
    EXPECT_EQ(r->frame, frame);
  }
  EXPECT_EQ(from_nat(zero, p), kRedirect) << "a zero UDP checksum is IPv4's \"none\"";
  Datagram other_port = from(kNat, ep("203.0.113.2:4501"));
  auto frame = udp_frame(other_port, p);
  auto r = fp_->run(FastPathProgram::kFromPeer, frame);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, kLeave) << "not a listening endpoint: not m6t's";
}

TEST_F(GatewayFastPathTest, HomeSidePacketsForActiveStatesAreEncapsulatedAsTheEngineWould) {
  activate(kMnA);
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnA, 200)), kRedirect);
  EXPECT_EQ(to_mn(ipv6_packet(v6("2001:db8:2::7"), kMnA, 64)), kRedirect)
      << "once active, any home-side source (ICMPv6 errors of routers, §2.6)";
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnA, 1432)), kRedirect) << "exactly the MTU";
  auto a = fp_->activity(*engine_->states().find(kMnA));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_mn.packets, 3u);
}

TEST_F(GatewayFastPathTest, HomeSidePacketsTheEngineMustAnswerOrDropAreLeftAlone) {
  activate(kMnA);
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnB)), kLeave) << "no state";
  EXPECT_EQ(to_mn(ipv6_packet(kHa, v6("fd00:db8:9::1"))), kLeave) << "outside the prefix";
  EXPECT_EQ(to_mn(ipv6_packet(kHa, v6("ff02::2"))), kLeave) << "multicast";
  auto broken = ipv6_packet(kHa, kMnA, 8);
  broken[5] = 40;
  EXPECT_EQ(to_mn(broken), kLeave) << "length mismatch";
}

TEST_F(GatewayFastPathTest, PathMtuModeLowersTheMirroredPathAndSetsDf) {
  // Path-MTU mode: the ICMPv4 error lowers the MN's MTU; the mirror follows at once.
  config_.pmtu_discovery = true;
  engine_ = std::make_unique<core::GatewayEngine>(config_, rng_);
  engine_->set_mirror(fp_.get());
  activate(kMnA);
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnA, 1000)), kRedirect) << "DF set in path-MTU mode";
  auto quoted = ipv6_packet(kHa, kMnA, 1432);
  quoted.resize(48);
  core::FragNeeded f{0, kNat, 1400, quoted};
  engine_->on_frag_needed(f, now(), scratch_);
  EXPECT_EQ(engine_->states().find(kMnA)->path.mtu, 1372u);
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnA, 1332)), kRedirect) << "1372: fits";
  EXPECT_EQ(to_mn(ipv6_packet(kHa, kMnA, 1333)), kLeave) << "1373: the engine's Packet Too Big";
}

TEST_F(GatewayFastPathTest, AnExpiredStateLeavesTheMaps) {
  activate(kMnA);
  ASSERT_EQ(from_nat(from(), ipv6_packet(kMnA, kHa)), kRedirect);
  engine_->expire(now() + std::chrono::seconds(200));
  EXPECT_EQ(engine_->states().find(kMnA), nullptr);
  EXPECT_EQ(fp_->mirrored(), 0u);
  auto frame = udp_frame(from(), ipv6_packet(kMnA, kHa));
  auto r = fp_->run(FastPathProgram::kFromPeer, frame);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, kLeave) << "gone from the map with the engine's state";
}

// --- client ----------------------------------------------------------------------------------

const core::Endpoint4 kGw = ep("203.0.113.2:4500");
const core::Endpoint4 kLocal = ep("192.0.2.2:40000");

class ClientFastPathTest : public FastPathTest {
 protected:
  void SetUp() override {
    FastPathTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    config_.prefix = pfx("fd00:db8:1:0:1::/80");
    config_.gateways = {kGw};
    make();
  }

  void make() {
    auto fp = ClientFastPath::open_for_test({kLoopback, config_.mtu});
    ASSERT_TRUE(fp) << fp.error();
    fp_ = std::move(*fp);
    engine_ = std::make_unique<core::ClientEngine>(config_, rng_);
    engine_->set_mirror(fp_.get());
    engine_->set_uplink({true, v4("192.0.2.2"), v4("192.0.2.1"), kLoopback}, at_ms(0));
    engine_->expire(at_ms(250));
    ASSERT_TRUE(engine_->address());
    ASSERT_TRUE(fp_->set_attachment(kLocal, kLoopback));
    addr_ = *engine_->address();
    // The gateway answers: the tunnel is up and mirrored (§3).
    auto answer = ipv6_packet(kHa, addr_);
    ASSERT_EQ(engine_->on_udp(kGw, answer, at_ms(300)).action, Action::kToTun);
    ASSERT_TRUE(fp_->active());
  }

  int from_gateway(const Datagram& d, std::vector<std::uint8_t> payload) {
    const std::vector<std::uint8_t> frame = udp_frame(d, payload);
    auto r = fp_->run(FastPathProgram::kFromPeer, frame);
    EXPECT_TRUE(r) << r.error();
    if (!r) return 0;
    core::Verdict v = engine_->on_udp(d.src, payload, at_ms(1000));
    EXPECT_EQ(decapsulation_agrees(*r, frame, v), "");
    return r->verdict;
  }

  int to_gateway(const std::vector<std::uint8_t>& packet) {
    const std::vector<std::uint8_t> frame = ipv6_frame(packet);
    auto r = fp_->run(FastPathProgram::kToPeer, frame);
    EXPECT_TRUE(r) << r.error();
    if (!r) return 0;
    core::Verdict v = engine_->on_tun(packet, at_ms(1000));
    EXPECT_EQ(encapsulation_agrees(*r, frame, packet, v, kLocal), "");
    return r->verdict;
  }

  Datagram gateway_datagram(const core::Endpoint4& src = kGw) {
    Datagram d;
    d.src = src;
    d.dst = kLocal;
    return d;
  }

  core::ClientConfig config_;
  m6t::testing::FakeRandom rng_;
  std::unique_ptr<ClientFastPath> fp_;
  std::unique_ptr<core::ClientEngine> engine_;
  core::Ipv6Addr addr_;
};

TEST_F(ClientFastPathTest, TheGatewaysPacketsForTheTunnelAddressAreDecapsulated) {
  EXPECT_EQ(from_gateway(gateway_datagram(), ipv6_packet(kHa, addr_, 300)), kRedirect);
  auto a = fp_->activity();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_host.packets, 1u);
}

TEST_F(ClientFastPathTest, WhatTheEngineMustCheckOrAnswerIsLeftAlone) {
  EXPECT_EQ(from_gateway(gateway_datagram(ep("203.0.113.2:4501")), ipv6_packet(kHa, addr_)), kLeave)
      << "not the gateway in use";
  EXPECT_EQ(from_gateway(gateway_datagram(), ipv6_packet(kHa, v6("fd00:db8:1:0:1::9"))), kLeave)
      << "not the tunnel address";
  EXPECT_EQ(from_gateway(gateway_datagram(), ipv6_packet(v6("fe80::7"), addr_)), kLeave)
      << "a link-local source would make the tunnel a link";
  auto answer = keepalive(addr_);
  core::make_keepalive_reply_in_place(answer);
  EXPECT_EQ(from_gateway(gateway_datagram(), answer), kLeave) << "§2.3: the engine's";
  EXPECT_EQ(from_gateway(gateway_datagram(), ipv6_packet(kHa, addr_, 1433)), kLeave) << "oversized";
}

TEST_F(ClientFastPathTest, TheHostsPacketsFromTheTunnelAddressGoToTheGateway) {
  EXPECT_EQ(to_gateway(ipv6_packet(addr_, kHa, 500)), kRedirect);
  auto a = fp_->activity();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_gateway.packets, 1u);
  EXPECT_TRUE(a->awaiting_since) << "sent, not yet answered";
  EXPECT_EQ(to_gateway(ipv6_packet(v6("fd00:db8:1:0:1::9"), kHa)), kLeave) << "other source";
  EXPECT_EQ(to_gateway(ipv6_packet(addr_, v6("ff02::16"))), kLeave) << "multicast";
  EXPECT_EQ(to_gateway(ipv6_packet(addr_, kHa, 1433)), kLeave) << "the engine's Packet Too Big";
}

TEST_F(ClientFastPathTest, ANewAttachmentStopsTheTunnelUntilTheGatewayAnswers) {
  engine_->set_uplink({true, v4("192.0.2.3"), v4("192.0.2.1"), kLoopback}, at_ms(2000));
  EXPECT_FALSE(fp_->active()) << "never from an address the host may have lost";
  auto frame = ipv6_frame(ipv6_packet(addr_, kHa));
  auto r = fp_->run(FastPathProgram::kToPeer, frame);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, kLeave);
}

}  // namespace
}  // namespace m6t::os
