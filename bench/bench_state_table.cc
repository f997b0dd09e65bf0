// State table at scale: insert, lookup and expiry with up to a million states.
// Run: build/bench/bench_state_table
#include <benchmark/benchmark.h>

#include <vector>

#include "core/state_table.h"
#include "support/packets.h"

namespace {

using namespace m6t::core;
using namespace std::chrono_literals;

Ipv6Addr nth(std::uint32_t i) {
  Ipv6Addr a = m6t::testing::v6("fd00:db8:1::");
  a.b[12] = static_cast<std::uint8_t>(i >> 24);
  a.b[13] = static_cast<std::uint8_t>(i >> 16);
  a.b[14] = static_cast<std::uint8_t>(i >> 8);
  a.b[15] = static_cast<std::uint8_t>(i);
  a.b[8] = static_cast<std::uint8_t>(i * 131);  // spread over MN IDs
  return a;
}

StateTableConfig config(std::uint32_t n) {
  StateTableConfig c;
  c.max_states = n;
  c.max_temp_states = n;
  c.temp_lifetime = 1000ms;
  c.active_lifetime = 90s;
  return c;
}

const Binding kBinding{m6t::testing::ep("198.51.100.1:1"), m6t::testing::ep("203.0.113.2:4500"), 0};

void BM_InsertActivate(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  for (auto _ : st) {
    StateTable t(config(n), SipKey{1, 2});
    for (std::uint32_t i = 0; i < n; ++i) {
      State* s = *t.create_temporary(nth(i), kBinding, Time{});
      t.activate(*s, Time{});
    }
    benchmark::DoNotOptimize(t.size());
  }
  st.SetItemsProcessed(st.iterations() * n);
  st.counters["bytes_per_state"] = static_cast<double>(StateTable::bytes_per_state());
}
BENCHMARK(BM_InsertActivate)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_LookupHit(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  StateTable t(config(n), SipKey{1, 2});
  for (std::uint32_t i = 0; i < n; ++i)
    (void)t.create_temporary(nth(i), kBinding, Time{});
  std::uint32_t i = 0;
  for (auto _ : st) {
    benchmark::DoNotOptimize(t.find(nth(i)));
    i = (i + 7919) % n;
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_LookupHit)->Arg(1000)->Arg(1000000);

// The same lookups a batch at a time, as the daemon makes them: the batch's states are
// prefetched first (StateTable::prefetch), then looked up.
void BM_LookupHitBatch(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  StateTable t(config(n), SipKey{1, 2});
  for (std::uint32_t i = 0; i < n; ++i)
    (void)t.create_temporary(nth(i), kBinding, Time{});
  constexpr std::size_t kBatch = 64;
  std::vector<Ipv6Addr> keys(kBatch);
  std::uint32_t i = 0;
  for (auto _ : st) {
    for (auto& k : keys) {
      k = nth(i);
      i = (i + 7919) % n;
    }
    t.prefetch(keys);
    for (const auto& k : keys)
      benchmark::DoNotOptimize(t.find(k));
  }
  st.SetItemsProcessed(st.iterations() * kBatch);
}
BENCHMARK(BM_LookupHitBatch)->Arg(1000)->Arg(1000000);

void BM_LookupMiss(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  StateTable t(config(n), SipKey{1, 2});
  for (std::uint32_t i = 0; i < n; ++i)
    (void)t.create_temporary(nth(i), kBinding, Time{});
  std::uint32_t i = n;
  for (auto _ : st)
    benchmark::DoNotOptimize(t.find(nth(i++)));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_LookupMiss)->Arg(1000)->Arg(1000000);

void BM_RefreshAndExpireAll(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  for (auto _ : st) {
    st.PauseTiming();
    StateTable t(config(n), SipKey{1, 2});
    for (std::uint32_t i = 0; i < n; ++i) {
      State* s = *t.create_temporary(nth(i), kBinding, Time{});
      t.activate(*s, Time{});
    }
    st.ResumeTiming();
    for (std::uint32_t i = 0; i < n; ++i)
      t.on_from_mn(*t.find(nth(i)), 100, Time{1s});
    t.expire(Time{1s} + 90s);
    benchmark::DoNotOptimize(t.size());
  }
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK(BM_RefreshAndExpireAll)->Arg(1000000)->Unit(benchmark::kMillisecond);

// Expiry alone: a million temporary states whose short lifetime has passed (a flood that
// stopped), removed by one expire() call.
void BM_ExpireTemporary(benchmark::State& st) {
  auto n = static_cast<std::uint32_t>(st.range(0));
  for (auto _ : st) {
    st.PauseTiming();
    StateTable t(config(n), SipKey{1, 2});
    for (std::uint32_t i = 0; i < n; ++i)
      (void)t.create_temporary(nth(i), kBinding, Time{});
    st.ResumeTiming();
    t.expire(Time{} + 1001ms);
    benchmark::DoNotOptimize(t.size());
  }
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK(BM_ExpireTemporary)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
