#include "attack/safety.h"

#include <array>

namespace m6t::attack {

namespace {

struct Range {
  std::uint32_t net;
  unsigned len;
};

constexpr std::array<Range, 4> kAllowed = {{
    {0xc0000200, 24},  // 192.0.2.0/24 TEST-NET-1
    {0xc6336400, 24},  // 198.51.100.0/24 TEST-NET-2
    {0xcb007100, 24},  // 203.0.113.0/24 TEST-NET-3
    {0xc6120000, 15},  // 198.18.0.0/15 benchmarking (RFC 2544): spoofed and many sources
}};

std::uint32_t mask(unsigned len) {
  return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}

}  // namespace

bool allowed_range(core::Ipv4Addr net, unsigned len) {
  if (len > 32) return false;
  for (const Range& r : kAllowed)
    if (len >= r.len && (net.value & mask(r.len)) == r.net) return true;
  return false;
}

}  // namespace m6t::attack
