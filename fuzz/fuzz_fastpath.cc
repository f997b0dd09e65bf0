// The fast path's gateway programs against the gateway engine on arbitrary datagrams and
// home-side packets (BPF_PROG_TEST_RUN): a few MNs activated through the engine, whose mirror
// writes the programs' maps as the daemon's does; then frames of every shape from their NATs
// and from others, with any header field right or wrong, and packets from the home side of
// any size. Whatever the programs forward, the engine forwards the same bytes; whatever they
// leave alone is unchanged (tests/support/fastpath_agreement.h). Needs root (eBPF).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/gateway_engine.h"
#include "fuzz_input.h"
#include "os/clock.h"
#include "os/fastpath.h"
#include "support/fake_random.h"
#include "support/fastpath_agreement.h"
#include "support/frames.h"
#include "support/packets.h"

using namespace m6t;
using m6t::fuzzing::Input;
namespace t = m6t::testing;

namespace {

const core::Ipv6Addr kHa = t::v6("2001:db8:1::2");
const core::Endpoint4 kListen = t::ep("203.0.113.2:4500");
constexpr int kLoopback = 1;

std::unique_ptr<os::GatewayFastPath>& fast_path() {
  static std::unique_ptr<os::GatewayFastPath> fp;
  return fp;
}

void disagree(const std::string& what) {
  std::fprintf(stderr, "fast path and engine disagree: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  os::GatewayFastPath::Config c;
  c.tun_ifindex = kLoopback;
  c.mtu = wire::kDefaultMtu;
  c.max_states = 64;
  c.listen = {kListen};
  c.home_agents = {kHa};
  auto fp = os::GatewayFastPath::open_for_test(c);
  if (!fp) {
    std::fprintf(stderr, "fuzz_fastpath: %s (needs root)\n", fp.error().c_str());
    std::exit(1);
  }
  fast_path() = std::move(*fp);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  os::GatewayFastPath& fp = *fast_path();
  t::FakeRandom rng(1);
  core::GatewayConfig c;
  c.mn_prefix = t::pfx("fd00:db8:1::/48");
  c.home_agents = {kHa};
  c.states.max_states = 64;
  c.states.max_temp_states = 32;
  c.pmtu_discovery = in.byte() % 2 == 1;
  // The engine runs on the programs' clock (CLOCK_MONOTONIC): their activity counts for it.
  core::Time now = os::mono_now();
  std::vector<std::uint8_t> scratch(wire::kIcmpv6ErrorMaxLen);
  {
    // The engine's states and the maps go together; an engine destroyed with states still
    // mirrored would leave them behind for the next input.
    core::GatewayEngine engine(c, rng);
    engine.set_mirror(&fp);
    const core::Ipv6Addr mns[3] = {t::v6("fd00:db8:1:0:1::a"), t::v6("fd00:db8:1:0:2::b"),
                                   t::v6("fd00:db8:9::c")};
    const core::Endpoint4 nats[3] = {t::ep("198.51.100.7:40000"), t::ep("198.51.100.7:40001"),
                                     t::ep("198.51.100.8:40000")};
    const core::Ipv6Addr dsts[3] = {kHa, t::v6("2001:db8:1::99"), t::v6("fe80::1")};
    while (!in.empty()) {
      const std::uint8_t op = in.byte() % 4;
      const core::Ipv6Addr mn = mns[in.byte() % 3];
      const core::Endpoint4 nat = nats[in.byte() % 3];
      if (op == 0) {
        // A first packet and, maybe, the HA's answer (§3).
        auto first = t::ipv6_packet(mn, kHa);
        engine.on_udp({nat, kListen, 0, kLoopback}, first, now);
        if (in.byte() % 2) {
          auto answer = t::ipv6_packet(kHa, mn);
          engine.on_tun(answer, now, scratch);
        }
      } else if (op == 1) {
        // A datagram of any shape.
        t::Datagram d;
        d.src = nat;
        d.dst = in.byte() % 8 ? kListen : t::ep("203.0.113.2:4501");
        const std::uint8_t flags = in.byte();
        d.df = flags & 1;
        d.ihl = flags & 2 ? 6 : 5;
        d.frag = flags & 4 ? 0x2000 : 0;
        d.proto = flags & 8 ? 6 : 17;
        d.udp_len_delta = flags & 16 ? static_cast<int>(in.byte() % 5) - 2 : 0;
        d.checksum = static_cast<t::Datagram::Checksum>(in.byte() % 3);
        std::vector<std::uint8_t> payload;
        if (in.byte() % 4) {
          payload = t::ipv6_packet(in.byte() % 8 ? mn : t::v6("fd00:db8:1:0:1::d"),
                                   dsts[in.byte() % 3], in.u16() % 1600, in.byte() % 2 ? 17 : 59);
          if (in.byte() % 4 == 0)
            payload[in.below(static_cast<std::uint32_t>(payload.size()))] ^=
                static_cast<std::uint8_t>(1u << (in.byte() % 8));
        } else {
          auto raw = in.bytes(in.byte());
          payload.assign(raw.begin(), raw.end());
        }
        auto frame = t::udp_frame(d, payload);
        auto r = fp.run(os::FastPathProgram::kFromPeer, frame);
        if (!r) disagree(r.error());
        std::vector<std::uint8_t> copy = payload;
        core::Verdict v = engine.on_udp({nat, d.dst, 0, kLoopback}, copy, now);
        // A datagram to a port nobody listens on never reaches the engine: the program must
        // leave it alone too.
        if (d.dst != kListen) {
          if (r->verdict != t::kFastPathLeave) disagree("forwarded a datagram to no listener");
        } else if (d.proto != 17) {
          if (auto e = t::left_alone(*r, frame); !e.empty()) disagree(e);
        } else if (auto e = t::decapsulation_agrees(*r, frame, v); !e.empty()) {
          disagree(e);
        }
      } else if (op == 2) {
        // A packet from the home side.
        auto p = t::ipv6_packet(in.byte() % 4 ? kHa : t::v6("2001:db8:2::7"), mn, in.u16() % 1600);
        if (in.byte() % 8 == 0) p[5] ^= 1;  // a length that lies
        auto frame = t::ipv6_frame(p);
        auto r = fp.run(os::FastPathProgram::kToPeer, frame);
        if (!r) disagree(r.error());
        core::Verdict v = engine.on_tun(p, now, scratch);
        if (auto e = t::encapsulation_agrees(*r, frame, p, v, v.to.local); !e.empty()) disagree(e);
      } else {
        now += std::chrono::milliseconds(in.u16() * 16);
        engine.expire(now);
      }
    }
    // Everything expires: the maps are left empty for the next input.
    engine.expire(now + std::chrono::hours(1));
  }
  if (fp.mirrored() != 0) disagree("states left in the map after they expired");
  return 0;
}
