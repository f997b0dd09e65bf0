// Every reason a packet is refused, each a named counter. Decoders and engines return these
// instead of throwing, so hostile input only ever moves a counter.
//
// One table holds each reason's enum value, stable name and description side by side
// (kDropTable below); the compiler refuses a table out of the enum's order, an empty name or
// description, or a name used twice.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace m6t::core {

enum class Drop : std::uint8_t {
  // Decoding (either side).
  kTruncated,
  kBadVersion,
  kLengthMismatch,
  kOversized,
  // Gateway, from the NAT side (§6.1.3 sanity checks, §2.4 bindings, §2.3 keepalives).
  kSrcInvalid,
  kSrcOutsidePrefix,
  kDstNotHomeAgent,
  kBindingMismatch,
  kKeepaliveNoState,
  kKeepaliveNotActive,
  kRateLimited,
  kStateTableFull,
  // Gateway, from the home side (§3, §6.1.3).
  kDstOutsidePrefix,
  kNoState,
  kTempNotFromHomeAgent,
  kTooBig,
  // Client.
  kNotAttached,
  kNotFromGateway,
  kDstNotTunnelAddress,
  kSrcNotTunnelAddress,
  kDstInvalid,
  // Gateway, from the NAT side, added later (names are stable, so new reasons go last).
  kCreationBudget,
  kCount
};

inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);

struct DropInfo {
  Drop drop;
  // Stable snake_case name: it appears in `m6t show --json` and scripts rely on it.
  std::string_view name;
  // One human sentence for logs and `m6t show`.
  std::string_view description;
};

inline constexpr std::array<DropInfo, kDropCount> kDropTable = {{
    {Drop::kTruncated, "truncated", "shorter than an IPv6 header"},
    {Drop::kBadVersion, "bad_version", "IP version is not 6"},
    {Drop::kLengthMismatch, "length_mismatch", "IPv6 payload length does not match the datagram"},
    {Drop::kOversized, "oversized", "larger than the tunnel MTU"},
    {Drop::kSrcInvalid, "src_invalid", "source is multicast, link-local, loopback or unspecified"},
    {Drop::kSrcOutsidePrefix, "src_outside_prefix", "source outside the MN prefix"},
    {Drop::kDstNotHomeAgent, "dst_not_home_agent", "destination is not a home agent"},
    // §2.4: a state exists for the source with another IPv4 address or port.
    {Drop::kBindingMismatch, "binding_mismatch", "source bound to another IPv4 address or port"},
    // §2.3: a keepalive without state is silently dropped...
    {Drop::kKeepaliveNoState, "keepalive_no_state", "keepalive without state"},
    // ...and so is one for a state that is still temporary (only active states answer).
    {Drop::kKeepaliveNotActive, "keepalive_not_active", "keepalive for a temporary state"},
    // §6.1.3: creation is limited per IPv4 address.
    {Drop::kRateLimited, "rate_limited", "state creation rate exceeded for the IPv4 address"},
    {Drop::kStateTableFull, "state_table_full", "state table full"},
    {Drop::kDstOutsidePrefix, "dst_outside_prefix", "destination outside the MN prefix"},
    {Drop::kNoState, "no_state", "no state for the destination"},
    // §3: only a home agent's answer activates a temporary state.
    {Drop::kTempNotFromHomeAgent, "temp_not_from_home_agent",
     "temporary state, source is not a home agent"},
    // Path-MTU mode: answered by a Packet Too Big.
    {Drop::kTooBig, "too_big", "larger than the path MTU"},
    {Drop::kNotAttached, "not_attached", "no IPv4 attachment"},
    {Drop::kNotFromGateway, "not_from_gateway", "datagram not from the gateway in use"},
    {Drop::kDstNotTunnelAddress, "dst_not_tunnel_address", "destination is not the tunnel address"},
    {Drop::kSrcNotTunnelAddress, "src_not_tunnel_address", "source is not the tunnel address"},
    {Drop::kDstInvalid, "dst_invalid", "destination is multicast or link-local"},
    // Established MNs first: a loop turn's share of first packets is spent.
    {Drop::kCreationBudget, "creation_budget", "too many first packets at once, state deferred"},
}};

namespace detail {
constexpr bool drop_table_well_formed() {
  for (std::size_t i = 0; i < kDropCount; ++i) {
    const DropInfo& d = kDropTable[i];
    if (static_cast<std::size_t>(d.drop) != i) return false;
    if (d.name.empty() || d.description.empty()) return false;
    for (std::size_t j = 0; j < i; ++j)
      if (kDropTable[j].name == d.name || kDropTable[j].description == d.description) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::drop_table_well_formed(),
              "kDropTable: one entry per Drop, in order, with unique non-empty names and "
              "descriptions");

// Out-of-range values (kCount) give "?", never an out-of-bounds read.
constexpr std::string_view to_string(Drop d) {
  auto i = static_cast<std::size_t>(d);
  return i < kDropCount ? kDropTable[i].name : "?";
}
constexpr std::string_view describe(Drop d) {
  auto i = static_cast<std::size_t>(d);
  return i < kDropCount ? kDropTable[i].description : "?";
}

class DropCounters {
 public:
  void add(Drop d) { ++counts_[static_cast<std::size_t>(d)]; }
  std::uint64_t operator[](Drop d) const { return counts_[static_cast<std::size_t>(d)]; }
  std::uint64_t total() const;

 private:
  std::array<std::uint64_t, kDropCount> counts_{};
};

// Packets and bytes along one forwarding path.
struct Flow {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  void add(std::size_t len) {
    ++packets;
    bytes += len;
  }
};

}  // namespace m6t::core
