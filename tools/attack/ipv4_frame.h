// IPv4 + UDP framing of the attack tool's datagrams, for a raw socket with IP_HDRINCL (RFC 791,
// RFC 768): the tool chooses the source address, which is the whole point of spoofing. A
// datagram larger than the link MTU is cut into IPv4 fragments here, since the kernel refuses
// (EMSGSIZE) to fragment a packet whose header the caller wrote.
//
// The layout constants are the IPv4 and UDP headers', not m6t's, and only this test tool writes
// them: they live beside it rather than in src/core/wire.h, which holds the protocol's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/address.h"

namespace m6t::attack {

inline constexpr std::size_t kIpv4HeaderLen = 20;  // no options
inline constexpr std::size_t kUdpHeaderLen = 8;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint16_t kMoreFragments = 0x2000;
inline constexpr std::size_t kMaxFrames = 48;  // 65535 bytes over 1400-byte frames

struct Frame {
  std::span<const std::uint8_t> bytes;
};

// Writes the IPv4 packet(s) carrying one UDP datagram from `src` to `dst` into `out`, each at
// most `link_mtu` bytes, and returns how many (0 when `out` or kMaxFrames is too small). The
// UDP checksum is 0 ("no checksum", RFC 768, allowed over IPv4); the kernel fills in the IPv4
// header checksum. `id` is the IPv4 identification (never 0, fragments share it).
std::size_t frame_ipv4_udp(const core::Endpoint4& src, const core::Endpoint4& dst,
                           std::span<const std::uint8_t> payload, std::uint16_t id,
                           std::size_t link_mtu, std::span<std::uint8_t> out,
                           std::span<Frame> frames);

}  // namespace m6t::attack
