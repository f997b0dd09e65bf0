// Packet builders for tests: well-formed IPv6 packets and deliberately broken ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/time.h"
#include "core/wire.h"

namespace m6t::testing {

inline core::Ipv6Addr v6(std::string_view s) {
  return *core::Ipv6Addr::parse(s);
}
inline core::Ipv4Addr v4(std::string_view s) {
  return *core::Ipv4Addr::parse(s);
}
inline core::Endpoint4 ep(std::string_view s) {
  return *core::Endpoint4::parse(s);
}
inline core::Ipv6Prefix pfx(std::string_view s) {
  return *core::Ipv6Prefix::parse(s);
}

inline core::Time at_ms(std::int64_t ms) {
  return core::Time{std::chrono::milliseconds(ms)};
}

inline std::vector<std::uint8_t> ipv6_packet(const core::Ipv6Addr& src, const core::Ipv6Addr& dst,
                                             std::size_t payload_len = 8,
                                             std::uint8_t next_header = 17,
                                             std::uint8_t fill = 0xab) {
  std::vector<std::uint8_t> p(wire::kIpv6HeaderLen + payload_len, fill);
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<std::uint8_t>(payload_len >> 8);
  p[5] = static_cast<std::uint8_t>(payload_len);
  p[6] = next_header;
  p[7] = 64;
  std::memcpy(&p[8], src.b.data(), 16);
  std::memcpy(&p[24], dst.b.data(), 16);
  return p;
}

inline std::vector<std::uint8_t> keepalive(const core::Ipv6Addr& src) {
  return ipv6_packet(src, v6("fe80::1"), 0, wire::kNextHeaderNone);
}

}  // namespace m6t::testing
