// The gateway daemon's wiring over the OS fakes: batches in, decisions carried out, answers
// leaving from the socket and address the MN used.
#include "app/gateway_daemon.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/ipv6_packet.h"
#include "os/fakes/fake_tun.h"
#include "os/fakes/fake_udp.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::app {
namespace {

using testing::at_ms;
using testing::ep;
using testing::ipv6_packet;
using testing::v6;

const core::Ipv6Addr kHa = v6("2001:db8:1::2");
const core::Ipv6Addr kMn = v6("fd00:db8:1:0:1:1:2:3");

class GatewayDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.listen = {ep("203.0.113.2:4500"), ep("203.0.113.2:53")};
    settings_.engine.mn_prefix = *core::Ipv6Prefix::parse("fd00:db8:1::/48");
    settings_.engine.home_agents = {kHa};
    std::vector<std::unique_ptr<os::UdpSocket>> socks;
    for (const auto& l : settings_.listen) {
      auto s = std::make_unique<os::FakeUdp>(l);
      udp_.push_back(s.get());
      socks.push_back(std::move(s));
    }
    daemon_ =
        std::make_unique<GatewayDaemon>(settings_, rng_, tun_, std::move(socks), log_, at_ms(0));
  }

  GatewaySettings settings_;
  testing::FakeRandom rng_;
  os::FakeTun tun_;
  std::vector<os::FakeUdp*> udp_;
  Logger log_{"test", LogLevel::kError};
  std::unique_ptr<GatewayDaemon> daemon_;
};

TEST_F(GatewayDaemonTest, ForwardsBothWaysThroughTheListenerTheMnUsed) {
  udp_[1]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(1, at_ms(1));
  ASSERT_EQ(tun_.written.size(), 1u);
  EXPECT_EQ(tun_.written[0], ipv6_packet(kMn, kHa));

  tun_.inject(ipv6_packet(kHa, kMn, 100));
  daemon_->on_tun_readable(at_ms(2));
  ASSERT_EQ(udp_[1]->sent.size(), 1u) << "the answer leaves from port 53, where the MN came in";
  EXPECT_TRUE(udp_[0]->sent.empty());
  EXPECT_EQ(udp_[1]->sent[0].remote, ep("198.51.100.1:40000"));
  EXPECT_EQ(udp_[1]->sent[0].local, ep("203.0.113.2:53"));
  EXPECT_EQ(udp_[1]->sent[0].data, ipv6_packet(kHa, kMn, 100));
}

TEST_F(GatewayDaemonTest, AnswersKeepalivesOnTheSameSocket) {
  udp_[0]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(1));
  tun_.inject(ipv6_packet(kHa, kMn));
  daemon_->on_tun_readable(at_ms(2));
  udp_[0]->sent.clear();
  udp_[0]->inject(testing::keepalive(kMn), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(3));
  ASSERT_EQ(udp_[0]->sent.size(), 1u);
  auto d = core::decode_ipv6(udp_[0]->sent[0].data, 1472);
  ASSERT_TRUE(d);
  EXPECT_TRUE(core::is_keepalive_reply(*d));
  EXPECT_EQ(tun_.written.size(), 1u) << "the keepalive never reached the TUN";
}

TEST_F(GatewayDaemonTest, HandlesMoreThanOneBatchPerWakeup) {
  for (int i = 0; i < 150; ++i)
    udp_[0]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(1));
  EXPECT_EQ(tun_.written.size(), 150u);
}

TEST_F(GatewayDaemonTest, DropsAreCountedNotForwarded) {
  udp_[0]->inject(ipv6_packet(v6("fd00:db8:2::1"), kHa), ep("198.51.100.1:40000"));
  udp_[0]->inject(std::vector<std::uint8_t>(10, 0x60), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(1));
  EXPECT_TRUE(tun_.written.empty());
  auto j = daemon_->status(at_ms(2));
  EXPECT_EQ(j["drops"]["src_outside_prefix"], 1);
  EXPECT_EQ(j["drops"]["truncated"], 1);
}

TEST_F(GatewayDaemonTest, TimerExpiresStates) {
  udp_[0]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(0));
  EXPECT_EQ(daemon_->status(at_ms(1))["states_total"], 1);
  ASSERT_TRUE(daemon_->next_deadline());
  daemon_->on_timer(at_ms(1000));
  EXPECT_EQ(daemon_->status(at_ms(1000))["states_total"], 0);
}

TEST_F(GatewayDaemonTest, StatusHasTheDocumentedNames) {
  udp_[0]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(0));
  auto j = daemon_->status(at_ms(10));
  EXPECT_EQ(j["role"], "gateway");
  ASSERT_EQ(j["states"].size(), 1u);
  const auto& s = j["states"][0];
  EXPECT_EQ(s["mn"], kMn.to_string());
  EXPECT_EQ(s["nat"], "198.51.100.1:40000");
  EXPECT_EQ(s["local"], "203.0.113.2:4500");
  EXPECT_EQ(s["kind"], "temporary");
  EXPECT_EQ(s["age_ms"], 10);
  EXPECT_EQ(s["expires_in_ms"], 990);
  EXPECT_EQ(s["from_mn"]["packets"], 1);
  EXPECT_EQ(j["listen"][1], "203.0.113.2:53");
  EXPECT_TRUE(j["drops"].contains("binding_mismatch"));
}

// Path-MTU mode: an ICMPv4 error on the socket lowers that MN's MTU, the HA gets a
// Packet Too Big through the TUN, and `m6t show` says how the MTU was learned.
TEST_F(GatewayDaemonTest, IcmpFragNeededOnTheSocketLowersTheMtuAndReachesTheHa) {
  settings_.engine.pmtu_discovery = true;
  daemon_.reset();
  udp_.clear();
  SetUp();
  udp_[0]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
  daemon_->on_udp_readable(0, at_ms(1));
  auto big = ipv6_packet(kHa, kMn, 1432);
  tun_.inject(big);
  daemon_->on_tun_readable(at_ms(2));
  ASSERT_EQ(udp_[0]->sent.size(), 1u);
  EXPECT_TRUE(udp_[0]->sent[0].df);

  os::IcmpError e{ep("198.51.100.1:40000"), 3, 4, 1400, EMSGSIZE};
  e.quote.assign(big.begin(), big.begin() + 200);
  udp_[0]->inject_error(e);
  udp_[0]->inject_error(os::IcmpError{ep("198.51.100.1:40000"), 3, 3, 0, ECONNREFUSED});
  tun_.written.clear();
  daemon_->on_udp_errors(0, at_ms(3));
  ASSERT_EQ(tun_.written.size(), 1u) << "one Packet Too Big; the port unreachable is ignored";
  auto d = core::decode_ipv6(tun_.written[0], 1280);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dst(), kHa);
  EXPECT_EQ((tun_.written[0][46] << 8) | tun_.written[0][47], 1372);

  auto j = daemon_->status(at_ms(4));
  ASSERT_EQ(j["states"].size(), 1u);
  EXPECT_EQ(j["states"][0]["mtu"], 1372);
  EXPECT_EQ(j["states"][0]["mtu_source"], "icmp");
  EXPECT_EQ(j["states"][0]["df"], true);
  EXPECT_EQ(j["states"][0]["mtu_expires_in_ms"], 600000 - 1);
  EXPECT_EQ(j["pmtu"]["lowered"], 1);
  EXPECT_EQ(j["pmtu_discovery"], true);
  // After the age, show reports the configured MTU again, "aged".
  auto later = daemon_->status(at_ms(3) + std::chrono::seconds(600));
  EXPECT_EQ(later["states"][0]["mtu"], 1472);
  EXPECT_EQ(later["states"][0]["mtu_source"], "aged");
  EXPECT_TRUE(later["states"][0]["mtu_expires_in_ms"].is_null());
}

// Saved states (state_store.h) in a directory of the test's own.
class GatewayStateStoreTest : public GatewayDaemonTest {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "m6t-state-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    GatewayDaemonTest::SetUp();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void establish(core::Time t) {
    udp_[1]->inject(ipv6_packet(kMn, kHa), ep("198.51.100.1:40000"));
    daemon_->on_udp_readable(1, t);
    tun_.inject(ipv6_packet(kHa, kMn));
    daemon_->on_tun_readable(t);
  }
  std::string dir_;
};

TEST_F(GatewayStateStoreTest, StatesSavedAtTheTimerAndAtShutdownComeBackInTheNextDaemon) {
  StateStore store(dir_, "m6tgw0");
  daemon_->use_state_store(store, at_ms(0));  // nothing saved yet
  EXPECT_EQ(store.path(), dir_ + "/gateway-m6tgw0.state");
  establish(at_ms(10));
  // The periodic save: due after --state-save-s (5 s), written by the store's thread.
  ASSERT_TRUE(daemon_->next_deadline());
  EXPECT_LE(*daemon_->next_deadline(), at_ms(5000));
  daemon_->on_timer(at_ms(5000));
  for (int i = 0; i < 200 && !std::filesystem::exists(store.path()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(store.path()));
  EXPECT_EQ(std::filesystem::status(store.path()).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  daemon_->shutdown(at_ms(6000));

  // A new process (another daemon object, another clock): the MN's state is back, bound to
  // the socket it used, and the home side reaches it at once.
  std::vector<std::unique_ptr<os::UdpSocket>> socks;
  std::vector<os::FakeUdp*> udp;
  for (const auto& l : settings_.listen) {
    auto sock = std::make_unique<os::FakeUdp>(l);
    udp.push_back(sock.get());
    socks.push_back(std::move(sock));
  }
  os::FakeTun tun;
  GatewayDaemon next(settings_, rng_, tun, std::move(socks), log_, at_ms(0));
  StateStore store2(dir_, "m6tgw0");
  next.use_state_store(store2, at_ms(0));
  EXPECT_EQ(next.status(at_ms(1))["state_stats"]["restored"], 1);
  tun.inject(ipv6_packet(kHa, kMn, 100));
  next.on_tun_readable(at_ms(2));
  ASSERT_EQ(udp[1]->sent.size(), 1u);
  EXPECT_EQ(udp[1]->sent[0].remote, ep("198.51.100.1:40000"));
  next.shutdown(at_ms(3));
}

TEST_F(GatewayStateStoreTest, ADamagedFileRestoresNothingAndTheDaemonServes) {
  StateStore store(dir_, "m6tgw0");
  std::ofstream(store.path()) << "M6TSTATE and then nonsense";
  daemon_->use_state_store(store, at_ms(0));
  EXPECT_EQ(daemon_->status(at_ms(1))["states_total"], 0);
  establish(at_ms(10));
  EXPECT_EQ(daemon_->status(at_ms(11))["states_active"], 1);
  daemon_->shutdown(at_ms(20));  // replaces it with a good file
  auto loaded = store.load(100);
  ASSERT_TRUE(std::holds_alternative<core::StateSnapshot>(loaded));
  EXPECT_EQ(std::get<core::StateSnapshot>(loaded).states.size(), 1u);
}

TEST_F(GatewayStateStoreTest, AStoreWithoutADirectoryIsDisabled) {
  StateStore store("", "m6tgw0");
  EXPECT_FALSE(store.enabled());
  EXPECT_TRUE(StateStore(dir_ + "/", "x").enabled());
  EXPECT_EQ(StateStore(dir_ + "/", "x").path(), dir_ + "/gateway-x.state");
}

}  // namespace
}  // namespace m6t::app
