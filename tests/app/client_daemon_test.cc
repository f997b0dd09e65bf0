// The client daemon over the OS fakes: what it installs, when, and in which order.
#include "app/client_daemon.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/ipv6_packet.h"
#include "os/fakes/fake_netlink.h"
#include "os/fakes/fake_process.h"
#include "os/fakes/fake_tun.h"
#include "os/fakes/fake_udp.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::app {
namespace {

using testing::at_ms;
using testing::ep;
using testing::ipv6_packet;
using testing::v4;
using testing::v6;

const core::Ipv6Addr kHa = v6("2001:db8:1::2");
const core::Uplink kHome{true, v4("192.0.2.2"), v4("192.0.2.1"), 2};
const core::Uplink kHotel{true, v4("192.0.2.3"), v4("192.0.2.1"), 2};

class ClientDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.engine.gateways = {ep("203.0.113.2:4500")};
    settings_.engine.prefix = *core::Ipv6Prefix::parse("fd00:db8:1:0:1::/80");
    auto factory = [this](const core::Endpoint4& gw,
                          const core::Uplink& u) -> os::OsResult<std::unique_ptr<os::UdpSocket>> {
      opened.push_back({gw, u});
      auto s = std::make_unique<os::FakeUdp>(core::Endpoint4{u.address, 50000});
      socket = s.get();
      return std::unique_ptr<os::UdpSocket>(std::move(s));
    };
    daemon_ = std::make_unique<ClientDaemon>(settings_, rng_, tun_, net_, factory, log_, at_ms(0));
  }
  std::string addr() const { return daemon_->engine().address()->to_string(); }
  bool called(const std::string& call) const {
    return std::find(net_.calls.begin(), net_.calls.end(), call) != net_.calls.end();
  }

  ClientSettings settings_;
  testing::FakeRandom rng_;
  os::FakeTun tun_{"m6t0", 7};
  os::FakeNetConfig net_;
  Logger log_{"test", LogLevel::kError};
  std::unique_ptr<ClientDaemon> daemon_;
  std::vector<std::pair<core::Endpoint4, core::Uplink>> opened;
  os::FakeUdp* socket = nullptr;
};

TEST_F(ClientDaemonTest, Ipv4ConnectivityInstallsAddressRouteAndSocket) {
  daemon_->on_uplink(kHome, at_ms(0));
  EXPECT_TRUE(net_.calls.empty()) << "nothing before the debounce";
  daemon_->on_timer(at_ms(250));
  EXPECT_TRUE(called("add_address 7 " + addr() + "/128"));
  EXPECT_TRUE(called("add_route 7 ::/0 metric 4096"));
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].first, ep("203.0.113.2:4500"));
  EXPECT_EQ(opened[0].second.address, v4("192.0.2.2"));
}

TEST_F(ClientDaemonTest, PacketsFlowBetweenTunAndSocket) {
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  auto me = *daemon_->engine().address();
  tun_.inject(ipv6_packet(me, kHa, 20));
  daemon_->on_tun_readable(at_ms(300));
  ASSERT_EQ(socket->sent.size(), 1u);
  EXPECT_EQ(socket->sent[0].data, ipv6_packet(me, kHa, 20));
  socket->inject(ipv6_packet(kHa, me, 30), ep("203.0.113.2:4500"));
  daemon_->on_udp_readable(at_ms(310));
  ASSERT_EQ(tun_.written.size(), 1u);
  EXPECT_EQ(tun_.written[0], ipv6_packet(kHa, me, 30));
}

// Path-MTU mode: the socket's ICMPv4 error lowers the tunnel's MTU; the host gets a
// Packet Too Big at once and for its next oversized packet; the device MTU stays as configured.
TEST_F(ClientDaemonTest, IcmpFragNeededLowersTheTunnelMtuAndTellsTheHost) {
  settings_.engine.pmtu_discovery = true;
  daemon_.reset();
  SetUp();
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  auto me = *daemon_->engine().address();
  auto big = ipv6_packet(me, kHa, 1432);
  tun_.inject(big);
  daemon_->on_tun_readable(at_ms(300));
  ASSERT_EQ(socket->sent.size(), 1u);
  EXPECT_TRUE(socket->sent[0].df);

  os::IcmpError e{ep("203.0.113.2:4500"), 3, 4, 1400, EMSGSIZE};
  e.quote.assign(big.begin(), big.begin() + 100);
  socket->inject_error(e);
  daemon_->on_udp_errors(at_ms(301));
  ASSERT_EQ(tun_.written.size(), 1u);
  EXPECT_EQ((tun_.written[0][46] << 8) | tun_.written[0][47], 1372);

  tun_.inject(big);
  daemon_->on_tun_readable(at_ms(302));
  EXPECT_EQ(socket->sent.size(), 1u) << "not sent again";
  ASSERT_EQ(tun_.written.size(), 2u) << "answered by the client itself";
  EXPECT_FALSE(called("set_mtu 7 1372")) << "the device keeps its MTU (README, Path MTU)";

  auto j = daemon_->status(at_ms(303));
  EXPECT_EQ(j["mtu"], 1372);
  EXPECT_EQ(j["mtu_configured"], 1472);
  EXPECT_EQ(j["mtu_source"], "icmp");
  EXPECT_EQ(j["df"], true);
  EXPECT_EQ(j["counters"]["too_big_sent"]["packets"], 2);
}

TEST_F(ClientDaemonTest, NewAttachmentAddsTheNewAddressBeforeRemovingTheOld) {
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  std::string first = addr();
  net_.calls.clear();
  daemon_->on_uplink(kHotel, at_ms(1000));
  daemon_->on_timer(at_ms(1250));
  std::string second = addr();
  ASSERT_NE(first, second);
  ASSERT_EQ(net_.calls.size(), 4u) << "the default route stays";
  EXPECT_EQ(net_.calls[0], "add_address 7 " + second + "/128");
  EXPECT_EQ(net_.calls[1], "add_route 7 ::/0 from " + second + "/128 metric 4096");
  EXPECT_EQ(net_.calls[2], "del_route 7 ::/0 from " + first + "/128 metric 4096");
  EXPECT_EQ(net_.calls[3], "del_address 7 " + first + "/128");
  ASSERT_EQ(opened.size(), 2u) << "a fresh socket, hence a fresh NAT mapping";
  EXPECT_EQ(opened[1].second.address, v4("192.0.2.3"));
}

TEST_F(ClientDaemonTest, LosingIpv4WithdrawsRouteAndAddress) {
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  std::string a = addr();
  int fd_changes = 0;
  daemon_->on_socket_change = [&](int, int) { ++fd_changes; };
  daemon_->on_uplink(core::Uplink{}, at_ms(1000));
  daemon_->on_timer(at_ms(1250));
  EXPECT_TRUE(called("del_route 7 ::/0 metric 4096"));
  EXPECT_TRUE(called("del_route 7 ::/0 from " + a + "/128 metric 4096"));
  EXPECT_TRUE(called("del_address 7 " + a + "/128"));
  EXPECT_EQ(fd_changes, 1);
  EXPECT_EQ(daemon_->socket(), nullptr);
}

TEST_F(ClientDaemonTest, ShutdownLeavesNothingInstalled) {
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  std::string a = addr();
  daemon_->shutdown(at_ms(500));
  EXPECT_TRUE(called("del_route 7 ::/0 metric 4096"));
  EXPECT_TRUE(called("del_route 7 ::/0 from " + a + "/128 metric 4096"));
  EXPECT_TRUE(called("del_address 7 " + a + "/128"));
}

TEST_F(ClientDaemonTest, NoDefaultRouteWhenAskedNot) {
  settings_.default_route = false;
  ClientDaemon d(
      settings_, rng_, tun_, net_,
      [](const core::Endpoint4& gw,
         const core::Uplink&) -> os::OsResult<std::unique_ptr<os::UdpSocket>> {
        return std::unique_ptr<os::UdpSocket>(std::make_unique<os::FakeUdp>(gw));
      },
      log_, at_ms(0));
  d.on_uplink(kHome, at_ms(0));
  d.on_timer(at_ms(250));
  // Only the tunnel address's own source route (§2.5), never a plain default route.
  std::string a = d.engine().address()->to_string();
  for (const auto& c : net_.calls)
    if (c.find("route") != std::string::npos) {
      EXPECT_EQ(c, "add_route 7 ::/0 from " + a + "/128 metric 4096");
    }
  EXPECT_TRUE(called("add_route 7 ::/0 from " + a + "/128 metric 4096"));
}

TEST_F(ClientDaemonTest, KeepaliveGoesOutOnTheAttachmentSocket) {
  settings_.engine.keepalive_interval = std::chrono::seconds(4);
  SetUp();
  daemon_->on_uplink(kHome, at_ms(0));
  daemon_->on_timer(at_ms(250));
  auto me = *daemon_->engine().address();
  socket->inject(ipv6_packet(kHa, me), ep("203.0.113.2:4500"));
  daemon_->on_udp_readable(at_ms(300));
  daemon_->on_timer(at_ms(4300));
  ASSERT_EQ(socket->sent.size(), 1u);
  auto d = core::decode_ipv6(socket->sent[0].data, 1472);
  ASSERT_TRUE(d);
  EXPECT_TRUE(core::is_keepalive(*d));
}

}  // namespace
}  // namespace m6t::app

namespace m6t::app {
namespace {

// The hook runs after each change is installed, with the change in its environment.
TEST(ClientDaemonHook, EachChangeRunsTheHookAfterInstallingIt) {
  ClientSettings s;
  s.engine.gateways = {testing::ep("203.0.113.2:4500")};
  s.engine.prefix = *core::Ipv6Prefix::parse("fd00:db8:1:0:1::/80");
  s.hook = "/usr/local/sbin/m6t-hook";
  testing::FakeRandom rng;
  os::FakeTun tun{"m6t0", 7};
  os::FakeNetConfig net;
  os::FakeProcessRunner runner;
  Logger log{"test", LogLevel::kError};
  auto factory = [](const core::Endpoint4&,
                    const core::Uplink& u) -> os::OsResult<std::unique_ptr<os::UdpSocket>> {
    return std::unique_ptr<os::UdpSocket>(
        std::make_unique<os::FakeUdp>(core::Endpoint4{u.address, 50000}));
  };
  ClientDaemon d(s, rng, tun, net, factory, log, testing::at_ms(0), nullptr, &runner);
  d.on_uplink(kHome, testing::at_ms(0));
  d.on_timer(testing::at_ms(250));
  ASSERT_EQ(runner.spawned.size(), 1u);
  std::string a1 = d.engine().address()->to_string();
  auto has = [&](std::size_t i, const std::string& kv) {
    const auto& env = runner.spawned[i].env;
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has(0, "M6T_STATE=up"));
  EXPECT_TRUE(has(0, "M6T_ADDRESS=" + a1));
  EXPECT_TRUE(has(0, "M6T_IPV4_ADDRESS=192.0.2.2"));
  EXPECT_TRUE(std::find(net.calls.begin(), net.calls.end(), "add_address 7 " + a1 + "/128") !=
              net.calls.end());

  runner.finish(1000, 0);
  d.on_child_exit(testing::at_ms(300));
  d.on_uplink(kHotel, testing::at_ms(1000));
  d.on_timer(testing::at_ms(1250));
  ASSERT_EQ(runner.spawned.size(), 2u);
  EXPECT_TRUE(has(1, "M6T_STATE=changed"));
  EXPECT_TRUE(has(1, "M6T_OLD_ADDRESS=" + a1));
  EXPECT_TRUE(has(1, "M6T_IPV4_ADDRESS=192.0.2.3"));

  runner.exit_on_wait = 0;
  d.shutdown(testing::at_ms(2000));  // waits for the queued "down" run
  ASSERT_EQ(runner.spawned.size(), 3u);
  EXPECT_TRUE(has(2, "M6T_STATE=down"));
  EXPECT_TRUE(has(2, "M6T_REASON=shutdown"));
  EXPECT_EQ(d.status(testing::at_ms(2000))["hook"]["started"], 3);
}

}  // namespace
}  // namespace m6t::app
