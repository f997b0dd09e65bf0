// The saved-states reader (core/state_file.h) and the gateway's restore, under arbitrary files.
// The first byte picks how the rest is used: odd, the rest is a file as read from disk; even,
// it is a file body that gets a valid checksum appended first, so that the range checks and
// the restore behind the checksum are reached too. Checked on every input:
//  - decoding never reads past the input and never allocates more than the record limit;
//  - a file that decodes encodes back to exactly the same bytes (one representation);
//  - the restore keeps the table's rules: only states inside the prefix, each bound to a
//    served listen address, active, ending no later than an active lifetime from now; the
//    counts add up to the records read.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/gateway_engine.h"
#include "core/siphash.h"
#include "core/state_file.h"
#include "core/wire.h"
#include "support/fake_random.h"
#include "support/packets.h"

using namespace m6t;
using namespace m6t::core;
namespace t = m6t::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxRecords = 64;
constexpr std::int64_t kNowWallMs = 1'796'000'000'000;

void seal(std::vector<std::uint8_t>& f) {
  const std::uint64_t sum = siphash24(SipKey{wire::kStateFileKey0, wire::kStateFileKey1}, f);
  for (int i = 7; i >= 0; --i)
    f.push_back(static_cast<std::uint8_t>(sum >> (8 * i)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if (data[0] % 2 == 0) seal(file);
  auto snap = decode_state_file(file, kMaxRecords);
  if (!snap) {
    if (to_string(snap.error()) == "?") std::abort();
    return 0;
  }
  if (snap->states.size() > kMaxRecords) std::abort();
  std::vector<std::uint8_t> again;
  encode_state_file(*snap, again);
  if (again != file) std::abort();

  GatewayConfig c;
  c.mn_prefix = t::pfx("fd00:db8:1::/48");
  c.home_agents = {t::v6("2001:db8:1::2")};
  c.pmtu_discovery = data[0] & 2;
  c.states.max_states = 32;
  c.states.max_temp_states = 16;
  c.states.active_lifetime = 90s;
  t::FakeRandom rng;
  GatewayEngine engine(c, rng);
  const Endpoint4 listeners[] = {t::ep("203.0.113.2:4500"), t::ep("203.0.113.2:53")};
  const Time now = t::at_ms(1000);
  const RestoreCounts n = engine.restore(*snap, listeners, kNowWallMs, now);
  if (n.restored + n.expired + n.foreign + n.duplicate + n.full != snap->states.size())
    std::abort();
  if (engine.states().active_count() != n.restored || engine.states().temporary_count() != 0)
    std::abort();
  engine.states().for_each([&](const State& s) {
    if (!c.mn_prefix.contains(s.mn) || s.kind != StateKind::kActive) std::abort();
    if (s.binding.listener >= 2 || listeners[s.binding.listener] != s.binding.local) std::abort();
    const Time end = engine.states().deadline_of(s);
    if (end <= now || end > now + c.states.active_lifetime) std::abort();
    if (s.path.mtu < wire::kMinIpv6Mtu || s.path.mtu > c.mtu) std::abort();
  });
  // A snapshot of what was restored reads back as the same states.
  auto saved = engine.snapshot(now, kNowWallMs);
  std::vector<std::uint8_t> bytes;
  encode_state_file(saved, bytes);
  auto back = decode_state_file(bytes, kMaxRecords);
  if (!back || back->states.size() != n.restored) std::abort();
  return 0;
}
