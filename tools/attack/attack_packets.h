// The datagrams of m6t-attack: what an attacker on the IPv4 internet can send to a
// gateway, one generator per attack of §6.1 of the draft. Pure: the i-th datagram of a mode is
// a function of the configuration and i, so that a test can feed the same datagrams to a
// GatewayEngine and check the drop reason each one is meant to provoke.
//
// This is test equipment, not part of the m6t binary (which must contain no attack code).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/address.h"
#include "core/drop.h"

namespace m6t::attack {

enum class Mode : std::uint8_t {
  kFlood,      // first packets from many (spoofed) IPv4 sources: state creation (§6.1.3)
  kPorts,      // first packets from one IPv4 address over many ports: per-address limit
  kHijack,     // a live MN's IPv6 source from another IPv4 address or port (§2.4, §6.1.1)
  kKeepalive,  // keepalives for unknown, temporary or mismatched states (§2.3)
  kNonHa,      // packets to destinations other than a home agent (§6.1.3)
  kMalformed,  // every shape the decoder and the sanity checks refuse
  kCount
};
std::string_view to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view s);

// What the packets of data modes carry after the IPv6 header.
enum class Payload : std::uint8_t {
  kNone,  // next header 59: the home agent answers nothing, states stay temporary
  kEcho,  // ICMPv6 echo request: the home agent answers, which activates the state (§3)
};

struct AttackConfig {
  Mode mode = Mode::kFlood;
  core::Endpoint4 target;  // the gateway's listening address and port
  // IPv4 sources: the addresses of from_net/from_len, in turn (kPorts uses from_net alone).
  core::Ipv4Addr from_net;
  unsigned from_len = 32;
  core::Ipv6Prefix prefix;  // the gateway's MN prefix
  core::Ipv6Addr home_agent;
  std::optional<core::Ipv6Addr> victim;       // a live MN's tunnel address (kHijack, kKeepalive)
  std::optional<core::Endpoint4> victim_nat;  // its binding: spoofed with other ports only
  Payload payload = Payload::kNone;
  std::uint32_t data_len = 0;  // bytes after the IPv6 header (echo: at least 8)
  std::uint32_t mtu = 1472;    // the gateway's tunnel MTU, for the oversized shape
  std::uint32_t run = 0;       // distinguishes the IPv6 sources of successive runs
  // kFlood only: when nonzero, the datagrams cycle over the first `mns` MNs, each the same
  // IPv6 source from the same IPv4 address and port every time: the traffic of that many
  // established MNs (bench/many_mns.py) instead of first packets of ever new ones.
  std::uint32_t mns = 0;
};

// One UDP datagram: where it claims to come from and its payload (an IPv6 packet or junk).
struct Datagram {
  core::Endpoint4 src;
  std::span<const std::uint8_t> payload;
  // The gateway's verdict the datagram is built for: a drop reason, or Drop::kCount when the
  // gateway is meant to accept it (a first packet creating a state, within the rate limit).
  core::Drop intended = core::Drop::kCount;
};

// The largest payload make_datagram writes: the oversized shape plus a margin.
inline constexpr std::size_t kMaxPayload = 65535 - 28;

// Writes the i-th datagram of the attack into `buf` (kMaxPayload bytes) and describes it.
Datagram make_datagram(const AttackConfig& c, std::uint64_t i, std::span<std::uint8_t> buf);

// The IPv6 source of the i-th generated MN address of a run: inside the prefix, never the
// all-zero host part, distinct for every (run, i).
core::Ipv6Addr nth_source(const core::Ipv6Prefix& prefix, std::uint32_t run, std::uint64_t i);

// The number of addresses of from_net/from_len (1 for a /32).
std::uint64_t source_count(const AttackConfig& c);

}  // namespace m6t::attack
