// The gateway's saved active states: what a restart restores so that no MN is lost. §2.4's
// states are soft (an MN's next packet rebuilds its state, §3), but an idle MN sends only at
// its next keepalive, and until then the HA cannot reach it; a restored state answers at once.
//
// Decisions (the draft has no restart):
// - Only active states are saved: a temporary state is not yet an MN (§3: the HA has not
//   answered) and would let a restart turn a flood of first packets into saved entries.
// - A state keeps its binding as it was (§2.4: "never updated"), its remaining lifetime and its
//   path MTU; its counters start over.
// - Times are saved relative to the save (remaining milliseconds) plus the wall-clock time of
//   the save: the monotonic clock starts over at a reboot, the wall clock does not. The reader
//   subtracts the time the gateway was away; a clock that went backwards counts as no time.
//
// Layout (integers big-endian, wire::kStateFile* constants):
//   header   magic "M6TSTATE", version u16, record length u16, record count u32,
//            saved at (Unix ms, u64), reserved u64 (zero)
//   records  MN address (16), NAT address (4) and port (2), local address (4) and port (2),
//            remaining lifetime ms (u32), path MTU (u32), MTU source (u8), DF (u8),
//            reserved (u16, zero), learned MTU's remaining age ms (u32), arrival ifindex (u32)
//   trailer  SipHash-2-4 under a fixed key of everything before it (u64): a checksum against
//            truncation and bit rot; the file's protection is its mode (0600) and directory.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/path_mtu.h"
#include "core/result.h"
#include "core/time.h"

namespace m6t::core {

struct SavedState {
  Ipv6Addr mn;
  Endpoint4 remote;  // the binding's NAT side
  Endpoint4 local;   // the binding's own side: the listen address it arrived at
  Duration remaining{};
  std::uint32_t mtu = 0;
  MtuSource mtu_source = MtuSource::kConfigured;
  bool df = false;
  Duration mtu_age_left{};  // a learned MTU (kIcmp) ages out after this
  std::uint32_t ifindex = 0;
  bool operator==(const SavedState&) const = default;
};

struct StateSnapshot {
  std::int64_t saved_at_unix_ms = 0;
  std::vector<SavedState> states;
};

enum class StateFileError : std::uint8_t {
  kTooShort,     // shorter than a header and a trailer
  kBadMagic,     // not a state file of ours
  kBadVersion,   // a version this build does not read
  kBadLength,    // the length does not match the record count (truncated or extended)
  kBadChecksum,  // corrupted
  kBadRecord,    // a field out of its range (reserved bits set, port 0, MTU out of range...)
  kTooManyRecords,
  kCount,
};
std::string_view to_string(StateFileError e);

// The file's bytes for `s` (replacing `out`'s contents).
void encode_state_file(const StateSnapshot& s, std::vector<std::uint8_t>& out);
// At most `max_records` records are accepted (the table's capacity): a larger count is refused
// before any allocation.
Result<StateSnapshot, StateFileError> decode_state_file(std::span<const std::uint8_t> data,
                                                        std::size_t max_records);

}  // namespace m6t::core
