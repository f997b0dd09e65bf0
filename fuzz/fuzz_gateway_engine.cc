// The gateway engine under arbitrary sequences of datagrams, home-side packets and time.
// Checked on every step: the §2.4/§6.1 invariants, whatever the input.
//  - a binding never changes while its state lives;
//  - a datagram toward the NAT side goes to the binding of an active state, or is a keepalive
//    answer no larger than the datagram it answers, sent back where that came from;
//  - the caps hold.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

#include "core/gateway_engine.h"
#include "fuzz_input.h"
#include "support/fake_random.h"
#include "support/packets.h"

using namespace m6t;
using namespace m6t::core;
using m6t::fuzzing::Input;
namespace t = m6t::testing;

namespace {

const Ipv6Addr kHa = t::v6("2001:db8:1::2");

Ipv6Addr pick_v6(Input& in) {
  switch (in.byte() % 8) {
    case 0:
      return kHa;
    case 1:
      return t::v6("2001:db8:1::99");
    case 2:
      return t::v6("fe80::1");
    case 3:
      return t::v6("ff02::1");
    default: {
      Ipv6Addr a = t::v6("fd00:db8:1::");
      a.b[15] = in.byte() % 6;  // few addresses: collisions are the interesting cases
      a.b[9] = in.byte() % 2;
      return a;
    }
  }
}

Endpoint4 pick_endpoint(Input& in) {
  return Endpoint4{Ipv4Addr{0xc6336400u + in.byte() % 3},
                   static_cast<std::uint16_t>(1 + in.byte() % 3)};
}

std::vector<std::uint8_t> make_packet(Input& in) {
  if (in.byte() % 8 == 0) {  // raw bytes
    auto raw = in.bytes(in.byte());
    return {raw.begin(), raw.end()};
  }
  Ipv6Addr src = pick_v6(in), dst = pick_v6(in);
  std::uint8_t nh = (in.byte() % 4 == 0) ? 59 : 17;
  std::size_t len = in.byte() % 4 == 0 ? 0 : in.u16() % 1600;
  auto p = t::ipv6_packet(src, dst, len, nh);
  if (in.byte() % 16 == 0 && !p.empty()) p[in.byte() % p.size()] ^= in.byte();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  t::FakeRandom rng(1);
  GatewayConfig config;
  config.mn_prefix = t::pfx("fd00:db8:1::/48");
  config.home_agents = {kHa};
  config.states.max_states = 6;
  config.states.max_temp_states = 3;
  config.states.temp_lifetime = std::chrono::milliseconds(1 + in.byte() * 10);
  config.states.active_lifetime = std::chrono::milliseconds(1 + in.u16());
  config.creation_rate = {1.0 + in.byte(), 1u + in.byte() % 8, 4};
  GatewayEngine g(config, rng);
  std::vector<std::uint8_t> scratch(wire::kIcmpv6ErrorMaxLen);
  Time now{};
  // Snapshot before each step: a state that survives the step (same creation time) must keep
  // its binding. One that was removed and created again may of course be bound anew.
  std::map<Ipv6Addr, std::pair<Time, Binding>> before;

  while (!in.empty()) {
    before.clear();
    g.states().for_each([&](const State& s) { before[s.mn] = {s.created, s.binding}; });
    switch (in.byte() % 5) {
      case 0:
      case 1: {
        auto dgram = make_packet(in);
        std::size_t len = dgram.size();
        UdpIn u{pick_endpoint(in), Endpoint4{Ipv4Addr{0xcb007102u}, 4500}, 0};
        Verdict v = g.on_udp(u, dgram, now);
        if (v.action == Action::kToUdp) {
          if (v.to.remote != u.remote || v.to.local != u.local || v.packet.size() > len)
            std::abort();
        }
        break;
      }
      case 2: {
        auto pkt = make_packet(in);
        if (in.byte() % 2 && pkt.size() >= 40 && g.states().size())
          g.set_mn_mtu(pick_v6(in), in.u16());
        Verdict v = g.on_tun(pkt, now, scratch);
        if (v.action == Action::kToUdp) {
          const State* s =
              g.states().find(Ipv6Addr::from_bytes(std::span(pkt).subspan(24).first<16>()));
          if (!s || s->kind != StateKind::kActive || s->binding != v.to) std::abort();
          if (v.packet.size() > s->path.mtu) std::abort();
        }
        break;
      }
      case 3:
        now += std::chrono::milliseconds(in.u16());
        break;
      case 4:
        g.expire(now);
        if (auto d = g.next_deadline(); d && *d <= now) std::abort();
        break;
    }
    if (g.states().size() > 6 || g.states().temporary_count() > 3) std::abort();
    if (auto d = g.next_deadline(); d && g.states().size() == 0) std::abort();
    g.states().for_each([&](const State& s) {
      auto it = before.find(s.mn);
      if (it != before.end() && it->second.first == s.created && it->second.second != s.binding)
        std::abort();
    });
  }
  return 0;
}
