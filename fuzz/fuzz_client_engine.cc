// The client engine under arbitrary uplink changes, packets, sleeps and time. Checked: the
// address is always inside the /80, events tell a consistent story (up only from nothing,
// down only from an address), packets only leave toward the gateway in use. Path-MTU mode
// (path-MTU mode, on when the first byte is odd): ICMPv4 errors quoting any datagram keep the
// tunnel's MTU within [1280, configured], nothing larger than it leaves, and every Packet Too
// Big toward the host is well-formed with a valid checksum.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "core/client_engine.h"
#include "fuzz_checks.h"
#include "fuzz_input.h"
#include "support/fake_random.h"
#include "support/packets.h"

using namespace m6t;
using namespace m6t::core;
using m6t::fuzzing::Input;
namespace t = m6t::testing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  t::FakeRandom rng(in.u16() + 1u);
  ClientConfig c;
  c.prefix = t::pfx("fd00:db8:1:0:1::/80");
  c.gateways = {t::ep("203.0.113.2:4500"), t::ep("203.0.113.2:5500")};
  c.pmtu_discovery = in.byte() % 2 == 1;
  c.keepalive_interval = std::chrono::milliseconds(1 + in.u16());
  ClientEngine e(c, rng);
  Time now{};
  std::optional<Ipv6Addr> held;
  Duration sleep_offset{};
  const Ipv6Addr ha = t::v6("2001:db8:1::2");

  while (!in.empty()) {
    switch (in.byte() % 8) {
      case 0: {
        Uplink u{in.byte() % 4 != 0, Ipv4Addr{0xc0000200u + in.byte() % 3}, Ipv4Addr{0xc0000201u},
                 1u + in.byte() % 2};
        e.set_uplink(u, now);
        break;
      }
      case 1: {
        Ipv6Addr src = (held && in.byte() % 4) ? *held : t::v6("fd00:db8:1:0:1::1");
        auto p = t::ipv6_packet(src, in.byte() % 8 ? ha : t::v6("ff02::2"), in.u16() % 1500);
        Verdict v = e.on_tun(p, now);
        if (v.action == Action::kToUdp && (!e.gateway() || v.to.remote != *e.gateway()))
          std::abort();
        if (v.action == Action::kToUdp && v.packet.size() > e.path_mtu().mtu) std::abort();
        if (v.action == Action::kToTun) m6t::fuzzing::check_packet_too_big(v.packet);
        break;
      }
      case 2: {
        std::vector<std::uint8_t> p;
        if (held && in.byte() % 2) {
          p = t::ipv6_packet(in.byte() % 4 ? ha : t::v6("fe80::1"), *held, in.byte() % 2 ? 0 : 16,
                             in.byte() % 2 ? 59 : 58);
        } else {
          auto raw = in.bytes(in.byte());
          p.assign(raw.begin(), raw.end());
        }
        Endpoint4 from = c.gateways[in.byte() % 2];
        Verdict v = e.on_udp(from, p, now);
        if (v.action == Action::kToTun && (!held || v.packet.size() != p.size())) std::abort();
        break;
      }
      case 3:
        now += std::chrono::milliseconds(in.u16());
        break;
      case 4: {
        // As the daemon does: the sleep check's sample first (client_timers.h).
        if (e.sleep_check_due(now)) e.observe_sleep_offset(sleep_offset, now);
        bool keepalive = e.expire(now);
        if (keepalive && (!held || e.keepalive_packet().size() != 40)) std::abort();
        // A deadline still due after expire() would spin the daemon's event loop.
        if (auto d = e.next_deadline(); d && *d <= now) std::abort();
        break;
      }
      case 5:
        sleep_offset = std::chrono::milliseconds(in.u16() * 16);
        e.observe_sleep_offset(sleep_offset, now);
        break;
      case 6:
        e.shutdown(now);
        break;
      case 7: {
        // The datagram an IPv4 router quotes: our packet (or another host's), cut anywhere.
        Ipv6Addr src = (held && in.byte() % 4) ? *held : t::v6("fd00:db8:1:0:1::1");
        auto quoted = t::ipv6_packet(src, ha, in.u16() % 1500);
        quoted.resize(std::min<std::size_t>(quoted.size(), in.byte() % 2 ? 28 : in.u16()));
        FragNeeded f{0, c.gateways[in.byte() % 2], in.u16(), quoted};
        Verdict v = e.on_frag_needed(f, now);
        if (v.action == Action::kToUdp) std::abort();
        if (v.action == Action::kToTun) m6t::fuzzing::check_packet_too_big(v.packet);
        break;
      }
    }
    const PathMtu& path = e.path_mtu();
    if (path.mtu < wire::kMinIpv6Mtu || path.mtu > c.mtu) std::abort();
    if (!c.pmtu_discovery && (path.df || path.learned())) std::abort();
    while (auto ev = e.next_event()) {
      if (ev->change == Change::kUp && held) std::abort();
      if (ev->change != Change::kUp && (!held || ev->old_address != held)) std::abort();
      held = ev->address;
    }
    if (e.address() != held) std::abort();
    if (held && !c.prefix.contains(*held)) std::abort();
  }
  return 0;
}
