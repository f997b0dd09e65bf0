// Per-packet cost of the engines (no I/O): what the data path spends on protocol decisions.
// Run: build/bench/bench_engines
#include <benchmark/benchmark.h>

#include <vector>

#include "core/client_engine.h"
#include "core/gateway_engine.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace {

using namespace m6t::core;
namespace t = m6t::testing;

const Ipv6Addr kHa = t::v6("2001:db8:1::2");

GatewayConfig gw_config(std::uint32_t states) {
  GatewayConfig c;
  c.mn_prefix = t::pfx("fd00:db8:1::/48");
  c.home_agents = {kHa};
  c.states.max_states = states;
  c.states.max_temp_states = states;
  c.creation_rate = {1e9, 1u << 30, 1024};
  return c;
}

Ipv6Addr mn(std::uint32_t i) {
  Ipv6Addr a = t::v6("fd00:db8:1:0:1::");
  a.b[12] = static_cast<std::uint8_t>(i >> 24);
  a.b[13] = static_cast<std::uint8_t>(i >> 16);
  a.b[14] = static_cast<std::uint8_t>(i >> 8);
  a.b[15] = static_cast<std::uint8_t>(i);
  return a;
}

// Established states for n MNs; benchmark the MN -> home and home -> MN decisions.
void BM_GatewayForward(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  bool to_mn = st.range(1) != 0;
  t::FakeRandom rng;
  GatewayEngine g(gw_config(n), rng);
  std::vector<std::uint8_t> scratch(1280);
  Endpoint4 local = t::ep("203.0.113.2:4500");
  for (std::uint32_t i = 0; i < n; ++i) {
    auto p = t::ipv6_packet(mn(i), kHa, 1392);
    Endpoint4 nat{Ipv4Addr{0xc6336400u + (i >> 16)}, static_cast<std::uint16_t>(i & 0xffff)};
    (void)g.on_udp({nat, local, 0}, p, Time{});
    (void)g.on_tun(t::ipv6_packet(kHa, mn(i), 1392), Time{}, scratch);
  }
  std::vector<std::vector<std::uint8_t>> pkts;
  for (std::uint32_t i = 0; i < 1024; ++i)
    pkts.push_back(to_mn ? t::ipv6_packet(kHa, mn(i * 7919 % n), 1392)
                         : t::ipv6_packet(mn(i * 7919 % n), kHa, 1392));
  std::uint32_t i = 0;
  for (auto _ : st) {
    auto& p = pkts[i & 1023];
    std::uint32_t k = (i & 1023) * 7919 % n;
    Endpoint4 nat{Ipv4Addr{0xc6336400u + (k >> 16)}, static_cast<std::uint16_t>(k & 0xffff)};
    Verdict v = to_mn ? g.on_tun(p, Time{}, scratch) : g.on_udp({nat, local, 0}, p, Time{});
    benchmark::DoNotOptimize(v);
    ++i;
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * 1432);
}
BENCHMARK(BM_GatewayForward)->ArgsProduct({{1, 100000}, {0, 1}});

void BM_ClientToGateway(benchmark::State& st) {
  t::FakeRandom rng;
  ClientConfig c;
  c.prefix = t::pfx("fd00:db8:1:0:1::/80");
  c.gateways = {t::ep("203.0.113.2:4500")};
  ClientEngine e(c, rng);
  e.set_uplink({true, t::v4("192.0.2.2"), t::v4("192.0.2.1"), 2}, Time{});
  e.expire(Time{std::chrono::seconds(1)});
  auto p = t::ipv6_packet(*e.address(), kHa, 1392);
  for (auto _ : st)
    benchmark::DoNotOptimize(e.on_tun(p, Time{std::chrono::seconds(1)}));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_ClientToGateway);

}  // namespace
