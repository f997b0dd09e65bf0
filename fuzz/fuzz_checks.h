// Invariants shared by several fuzz targets; each aborts (a libFuzzer crash) when broken.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/ipv6_packet.h"
#include "core/wire.h"

namespace m6t::fuzzing {

// An ICMPv6 Packet Too Big an engine emits (path-MTU mode): within IPv6's minimum MTU (RFC 4443
// §2.4 (c)), a decodable IPv6 packet carrying ICMPv6, and a checksum that verifies.
inline void check_packet_too_big(std::span<const std::uint8_t> packet) {
  if (packet.size() > wire::kIcmpv6ErrorMaxLen || packet.size() < 48) std::abort();
  auto e = core::decode_ipv6(packet, wire::kIcmpv6ErrorMaxLen);
  if (!e || e->next_header() != wire::kNextHeaderIcmpv6) std::abort();
  if (core::icmpv6_checksum(e->src(), e->dst(), packet.subspan(40)) != 0) std::abort();
}

}  // namespace m6t::fuzzing
