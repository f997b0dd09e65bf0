// Path-MTU mode under arbitrary ICMPv4 error reports, home-side packets and time:
// the quoted-packet decoder, the PathMtu rule and the gateway's use of both. Checked on every
// step, whatever the input:
//  - decode_quoted_ipv6 only accepts an IPv6 header it holds, never reads past the quote;
//  - a path's MTU stays within [1280, configured]; DF is clear only in the default mode or on a
//    path that went back to fragmentation (MTU 1280); a deadline exists only for learned values;
//  - nothing larger than its state's MTU goes toward a MN, with that state's DF bit;
//  - every Packet Too Big fits the minimum MTU and its checksum verifies.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/gateway_engine.h"
#include "core/path_mtu.h"
#include "fuzz_checks.h"
#include "fuzz_input.h"
#include "support/fake_random.h"
#include "support/packets.h"

using namespace m6t;
using namespace m6t::core;
using m6t::fuzzing::Input;
namespace t = m6t::testing;

namespace {

const Ipv6Addr kHa = t::v6("2001:db8:1::2");
constexpr std::uint32_t kConfigured = 1472;

Ipv6Addr pick_mn(Input& in) {
  Ipv6Addr a = t::v6("fd00:db8:1::");
  a.b[15] = static_cast<std::uint8_t>(1 + in.byte() % 3);
  return a;
}

Endpoint4 nat_of(std::uint8_t i) {
  return Endpoint4{Ipv4Addr{0xc6336401u}, static_cast<std::uint16_t>(40000 + i % 4)};
}

void check_path(const PathMtu& p, bool discovery) {
  if (p.mtu < wire::kMinIpv6Mtu || p.mtu > kConfigured) std::abort();
  if (!discovery && (p.df || p.learned())) std::abort();
  if (discovery && !p.df && (!p.learned() || p.mtu != wire::kMinIpv6Mtu)) std::abort();
  if (p.next_deadline().has_value() != p.learned()) std::abort();
}

void check_too_big(const Verdict& v) {
  if (v.action == Action::kToTun) m6t::fuzzing::check_packet_too_big(v.packet);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  t::FakeRandom rng(1);
  GatewayConfig config;
  config.mn_prefix = t::pfx("fd00:db8:1::/48");
  config.home_agents = {kHa};
  config.mtu = kConfigured;
  config.pmtu_discovery = in.byte() % 4 != 0;
  config.pmtu_age = std::chrono::milliseconds(1 + in.u16());
  config.states.active_lifetime = std::chrono::hours(1);
  // pick_mn() draws from three MNs, nat_of() from one address: tables sized for them, not the
  // default million (whose index, allocated per input, would cap the target at a few dozen runs a
  // second).
  config.states.max_states = 4;
  config.states.max_temp_states = 4;
  config.creation_rate.max_addresses = 4;
  GatewayEngine g(config, rng);
  std::vector<std::uint8_t> scratch(wire::kIcmpv6ErrorMaxLen);
  Time now{};

  while (!in.empty()) {
    switch (in.byte() % 5) {
      case 0: {  // a MN's first packet, and the HA's answer: an active state
        std::uint8_t i = in.byte();
        Ipv6Addr mn = pick_mn(in);
        auto bu = t::ipv6_packet(mn, kHa);
        g.on_udp(UdpIn{nat_of(i), Endpoint4{Ipv4Addr{0xcb007102u}, 4500}, 0}, bu, now);
        g.on_tun(t::ipv6_packet(kHa, mn), now, scratch);
        break;
      }
      case 1: {  // a home-side packet of any size
        Ipv6Addr mn = pick_mn(in);
        auto p = t::ipv6_packet(kHa, mn, in.u16() % 1500);
        Verdict v = g.on_tun(p, now, scratch);
        const State* s = g.states().find(mn);
        if (v.action == Action::kToUdp &&
            (!s || v.packet.size() > s->path.mtu || v.df != s->path.df))
          std::abort();
        check_too_big(v);
        break;
      }
      case 2: {  // an ICMPv4 error: a quote of a real packet, possibly cut or corrupted
        Ipv6Addr mn = pick_mn(in);
        auto p = t::ipv6_packet(kHa, mn, in.u16() % 1500);
        std::size_t cut = in.byte() % 2 ? p.size() : in.u16() % (p.size() + 1);
        std::vector<std::uint8_t> quote(p.begin(), p.begin() + cut);
        if (in.byte() % 4 == 0 && !quote.empty()) quote[in.byte() % quote.size()] ^= in.byte();
        std::uint32_t hop = in.byte() % 4 == 0 ? 0 : in.u16();
        Verdict v = g.on_frag_needed({0, nat_of(in.byte()), hop, quote}, now, scratch);
        if (v.action != Action::kToTun && v.action != Action::kConsumed) std::abort();
        check_too_big(v);
        break;
      }
      case 3: {  // raw bytes through the quote decoder
        auto raw = in.bytes(in.byte());
        auto q = decode_quoted_ipv6(raw);
        if (q) {
          if (q->head.size() < 40 || q->head.size() > raw.size() ||
              q->head.size() > q->original_len || q->head.bytes().data() != raw.data())
            std::abort();
        } else if (q.error() >= Drop::kCount) {
          std::abort();
        }
        break;
      }
      case 4:
        now += std::chrono::milliseconds(in.u16());
        break;
    }
    g.states().for_each([&](const State& s) {
      PathMtu p = s.path;
      check_path(p, config.pmtu_discovery);
    });
  }
  return 0;
}
