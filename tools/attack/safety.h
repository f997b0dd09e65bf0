// What m6t-attack may send to, and from: addresses reserved for documentation and tests only
// (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and the benchmarking range
// 198.18.0.0/15 (RFC 2544), which the integration tests and the benchmarks route into an
// attacker namespace for spoofed sources. Anything else, the private ranges of RFC 1918
// included, is refused before a socket is opened.
#pragma once

#include <cstdint>

#include "core/address.h"

namespace m6t::attack {

// True when every address of net/len lies inside one of the allowed ranges.
bool allowed_range(core::Ipv4Addr net, unsigned len);
inline bool allowed_address(core::Ipv4Addr a) {
  return allowed_range(a, 32);
}

}  // namespace m6t::attack
