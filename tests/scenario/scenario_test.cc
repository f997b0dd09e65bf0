// Client engines and a gateway engine against each other, in process: a simulated NAT between
// them (port-restricted, with a UDP mapping timeout) and a simulated home agent that answers
// every packet. Time is a fake clock advanced from deadline to deadline.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "core/client_engine.h"
#include "core/gateway_engine.h"
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
const Endpoint4 kGw = ep("203.0.113.2:4500");
const Ipv4Addr kNatOutside = v4("203.0.113.1");

// A NAT with endpoint-independent mapping and address-and-port-dependent filtering (as Linux
// masquerade), and an idle timeout per mapping refreshed by outbound traffic only.
class SimNat {
 public:
  explicit SimNat(Duration timeout) : timeout_(timeout) {}

  // Outbound: returns the public endpoint the datagram leaves from.
  Endpoint4 out(const Endpoint4& inside, Time now) {
    expire(now);
    auto it = by_inside_.find(inside);
    if (it == by_inside_.end()) {
      Endpoint4 pub{kNatOutside, next_port_++};
      it = by_inside_.emplace(inside, Mapping{pub, now}).first;
    }
    it->second.last = now;
    return it->second.pub;
  }
  // Inbound to `pub`: the inside endpoint, or nothing when no live mapping lets it in.
  std::optional<Endpoint4> in(const Endpoint4& pub, Time now) {
    expire(now);
    for (auto& [inside, m] : by_inside_)
      if (m.pub == pub) return inside;
    return std::nullopt;
  }
  void flush() { by_inside_.clear(); }

 private:
  struct Mapping {
    Endpoint4 pub;
    Time last;
  };
  void expire(Time now) {
    std::erase_if(by_inside_, [&](auto& kv) { return kv.second.last + timeout_ <= now; });
  }
  Duration timeout_;
  std::map<Endpoint4, Mapping> by_inside_;
  std::uint16_t next_port_ = 40000;
};

struct Mn {
  Endpoint4 inside;  // the MN's private address and its socket's port
  std::unique_ptr<ClientEngine> engine;
  std::vector<std::vector<std::uint8_t>> delivered;  // written to the MN's TUN
  std::uint64_t keepalives_sent = 0;
};

class World {
 public:
  explicit World(Duration nat_timeout, Duration keepalive = 30s) : nat_(nat_timeout) {
    GatewayConfig g;
    g.mn_prefix = pfx("fd00:db8:1::/48");
    g.home_agents = {kHa};
    g.states.active_lifetime = 300s;
    gateway_ = std::make_unique<GatewayEngine>(g, rng_);
    keepalive_ = keepalive;
  }

  Mn& add_mn(const char* inside, std::uint16_t mn_id) {
    ClientConfig c;
    c.prefix = *make_mn_prefix(pfx("fd00:db8:1::/48"), 0, mn_id);
    c.gateways = {kGw};
    c.keepalive_interval = keepalive_;
    auto mn = std::make_unique<Mn>();
    mn->inside = ep(inside);
    mn->engine = std::make_unique<ClientEngine>(c, rng_);
    mn->engine->set_uplink(Uplink{true, mn->inside.addr, v4("192.0.2.1"), 2}, now_);
    mns_.push_back(std::move(mn));
    return *mns_.back();
  }

  // The MN's host sends a packet to the HA through its TUN.
  void mn_sends(Mn& mn, std::vector<std::uint8_t> pkt) {
    Verdict v = mn.engine->on_tun(pkt, now_);
    if (v.action == Action::kToUdp) to_gateway(mn, v.packet);
  }
  void mn_pings_ha(Mn& mn) { mn_sends(mn, ipv6_packet(*mn.engine->address(), kHa, 16, 58)); }
  // The HA sends a packet to `dst` through the gateway.
  bool ha_sends(const Ipv6Addr& dst) {
    std::size_t before = delivered_total();
    from_home(ipv6_packet(kHa, dst, 16, 58));
    return delivered_total() > before;
  }

  // Runs every timer due up to now + d.
  void advance(Duration d) {
    Time end = now_ + d;
    for (;;) {
      Deadline next = gateway_->next_deadline();
      for (auto& mn : mns_)
        next = earliest(next, mn->engine->next_deadline());
      if (!next || *next > end) break;
      now_ = std::max(now_, *next);
      gateway_->expire(now_);
      for (auto& mn : mns_) {
        if (mn->engine->expire(now_)) {
          ++mn->keepalives_sent;
          to_gateway(*mn, mn->engine->keepalive_packet());
        }
        while (mn->engine->next_event()) {
        }
      }
    }
    now_ = end;
  }

  GatewayEngine& gateway() { return *gateway_; }
  SimNat& nat() { return nat_; }
  Time now() const { return now_; }
  std::size_t delivered_total() const {
    std::size_t n = 0;
    for (auto& mn : mns_)
      n += mn->delivered.size();
    return n;
  }
  bool ha_answers = true;
  std::size_t ha_received = 0;

 private:
  void to_gateway(Mn& mn, std::span<const std::uint8_t> bytes) {
    std::vector<std::uint8_t> datagram(bytes.begin(), bytes.end());
    Endpoint4 pub = nat_.out(mn.inside, now_);
    Verdict v = gateway_->on_udp(UdpIn{pub, kGw, 0}, datagram, now_);
    if (v.action == Action::kToUdp) {
      deliver_to_nat(v);
    } else if (v.action == Action::kToTun) {
      ++ha_received;
      auto p = decode_ipv6(v.packet, 65535);
      if (ha_answers && p && p->dst() == kHa) from_home(ipv6_packet(kHa, p->src(), 16, 58));
    }
  }
  void from_home(std::vector<std::uint8_t> pkt) {
    std::vector<std::uint8_t> scratch(wire::kIcmpv6ErrorMaxLen);
    Verdict v = gateway_->on_tun(pkt, now_, scratch);
    if (v.action == Action::kToUdp) deliver_to_nat(v);
  }
  void deliver_to_nat(const Verdict& v) {
    ASSERT_EQ(v.to.local, kGw);
    auto inside = nat_.in(v.to.remote, now_);
    if (!inside) return;
    for (auto& mn : mns_) {
      if (mn->inside != *inside) continue;
      Verdict r = mn->engine->on_udp(kGw, v.packet, now_);
      if (r.action == Action::kToTun) mn->delivered.emplace_back(r.packet.begin(), r.packet.end());
    }
  }

  testing::FakeRandom rng_;
  SimNat nat_;
  Duration keepalive_;
  std::unique_ptr<GatewayEngine> gateway_;
  std::vector<std::unique_ptr<Mn>> mns_;
  Time now_ = at_ms(1000);
};

TEST(Scenario, MnAndHomeAgentReachEachOtherThroughTheNat) {
  World w(30s);
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  ASSERT_TRUE(mn.engine->address());
  w.mn_pings_ha(mn);
  EXPECT_EQ(mn.delivered.size(), 1u) << "the HA's answer came back";
  EXPECT_EQ(mn.engine->state(), ClientState::kUp);
  const State* s = w.gateway().states().find(*mn.engine->address());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, StateKind::kActive);
  EXPECT_EQ(s->binding.remote.addr, kNatOutside);
  EXPECT_TRUE(w.ha_sends(*mn.engine->address()));
}

TEST(Scenario, KeepalivesHoldTheNatMappingOpenThroughSilence) {
  World w(10s, 4s);
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  w.mn_pings_ha(mn);
  w.advance(30s);
  EXPECT_GE(mn.keepalives_sent, 7u);
  EXPECT_EQ(w.gateway().counters().keepalives.packets, mn.keepalives_sent);
  EXPECT_TRUE(w.ha_sends(*mn.engine->address()));
  EXPECT_EQ(mn.engine->liveness(), Liveness::kAlive);
}

TEST(Scenario, WithoutKeepalivesTheNatMappingDiesAndTheHomeAgentCannotReachTheMn) {
  World w(10s, 3600s);
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  w.mn_pings_ha(mn);
  w.advance(30s);
  EXPECT_EQ(mn.keepalives_sent, 0u);
  EXPECT_FALSE(w.ha_sends(*mn.engine->address()));
}

TEST(Scenario, NatRebindingLeadsToANewAddressNotAMovedBinding) {
  World w(300s, 4s);
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  w.mn_pings_ha(mn);
  Ipv6Addr first = *mn.engine->address();
  w.nat().flush();  // the NAT reboots: the next datagram gets another public port
  w.advance(20s);
  // §2.4: the gateway refused to move the binding, the client noticed its keepalives were
  // no longer answered and started over with a new address.
  EXPECT_GT(w.gateway().counters().drops[Drop::kBindingMismatch], 0u);
  ASSERT_TRUE(mn.engine->address());
  EXPECT_NE(*mn.engine->address(), first);
  w.mn_pings_ha(mn);
  EXPECT_EQ(mn.engine->state(), ClientState::kUp);
  EXPECT_TRUE(w.ha_sends(*mn.engine->address()));
  EXPECT_FALSE(w.ha_sends(first)) << "the old binding still points to the dead mapping";
}

TEST(Scenario, TwoMnsBehindOneNatAreEachReachable) {
  World w(30s);
  Mn& a = w.add_mn("192.0.2.2:50000", 1);
  Mn& b = w.add_mn("192.0.2.3:50000", 2);
  w.advance(1s);
  w.mn_pings_ha(a);
  w.mn_pings_ha(b);
  auto sa = w.gateway().states().find(*a.engine->address());
  auto sb = w.gateway().states().find(*b.engine->address());
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->binding.remote.addr, sb->binding.remote.addr);
  EXPECT_NE(sa->binding.remote.port, sb->binding.remote.port);
  std::size_t before_a = a.delivered.size(), before_b = b.delivered.size();
  EXPECT_TRUE(w.ha_sends(*a.engine->address()));
  EXPECT_EQ(a.delivered.size(), before_a + 1);
  EXPECT_EQ(b.delivered.size(), before_b);
  EXPECT_TRUE(w.ha_sends(*b.engine->address()));
  EXPECT_EQ(b.delivered.size(), before_b + 1);
}

TEST(Scenario, SilentHomeAgentLeavesOnlyATemporaryStateThatExpires) {
  World w(30s);
  w.ha_answers = false;
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  w.mn_pings_ha(mn);
  const State* s = w.gateway().states().find(*mn.engine->address());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, StateKind::kTemporary);
  w.advance(1s);
  EXPECT_EQ(w.gateway().states().find(*mn.engine->address()), nullptr);
  EXPECT_EQ(w.gateway().states().stats().expired_temporary, 1u);
}

TEST(Scenario, MovingToANewIpv4NetworkGivesANewBindingAndTheOldOneExpires) {
  World w(30s, 4s);
  Mn& mn = w.add_mn("192.0.2.2:50000", 1);
  w.advance(1s);
  w.mn_pings_ha(mn);
  Ipv6Addr first = *mn.engine->address();
  mn.inside = ep("192.0.2.3:50001");  // new address, fresh socket
  mn.engine->set_uplink(Uplink{true, mn.inside.addr, v4("192.0.2.1"), 2}, w.now());
  w.advance(1s);
  Ipv6Addr second = *mn.engine->address();
  ASSERT_NE(first, second);
  w.mn_pings_ha(mn);
  EXPECT_TRUE(w.ha_sends(second));
  w.advance(301s);
  EXPECT_EQ(w.gateway().states().find(first), nullptr) << "garbage-collected (§2.4)";
  EXPECT_NE(w.gateway().states().find(second), nullptr) << "kept alive by keepalives";
}

}  // namespace
}  // namespace m6t::core
