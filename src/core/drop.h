// Every reason a packet is refused, each a named counter. Decoders and engines return these
// instead of throwing, so hostile input only ever moves a counter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace m6t::core {

enum class Drop : std::uint8_t {
  // Decoding (either side).
  kTruncated,       // shorter than an IPv6 header
  kBadVersion,      // IP version is not 6
  kLengthMismatch,  // 40 + payload length differs from the datagram length
  kOversized,       // larger than the tunnel MTU
  // Gateway, from the NAT side (§6.1.3 sanity checks, §2.4 bindings, §2.3 keepalives).
  kSrcInvalid,          // source multicast, link-local, loopback, unspecified or v4-mapped
  kSrcOutsidePrefix,    // source not inside the configured MN prefix
  kDstNotHomeAgent,     // destination is not a configured home agent (nor a keepalive)
  kBindingMismatch,     // a state exists for the source with other IPv4 address/port (§2.4)
  kKeepaliveNoState,    // keepalive for an address without state (§2.3: silent drop)
  kKeepaliveNotActive,  // keepalive for a state still temporary (§2.3: active only)
  kRateLimited,         // state creation over the per-IPv4-address rate (§6.1.3)
  kStateTableFull,      // state cap reached and nothing could be evicted
  // Gateway, from the home side (§3, §6.1.3).
  kDstOutsidePrefix,      // routed into the tunnel but not inside the MN prefix
  kNoState,               // no temporary or active state for the destination
  kTempNotFromHomeAgent,  // would activate a temporary state but source is not a home agent
  kTooBig,                // larger than the path MTU of that MN (answered by Packet Too Big)
  // Client.
  kNotAttached,          // no IPv4 attachment, hence no tunnel address
  kNotFromGateway,       // datagram from an endpoint other than the gateway in use
  kDstNotTunnelAddress,  // from the gateway, but not for our tunnel address
  kSrcNotTunnelAddress,  // from the host, but not from our tunnel address
  kDstInvalid,           // from the host (either side), to a multicast or link-local destination
  kCount
};

inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);

// Stable snake_case names: they appear in `m6t show --json` and scripts rely on them.
std::string_view to_string(Drop d);
// One human sentence for logs and `m6t show`.
std::string_view describe(Drop d);

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
