// SipHash-2-4 (Aumasson & Bernstein): a keyed hash, so that nobody who does not know the key
// can choose addresses that collide in the gateway's tables (hash flooding, §6.1.3).
#pragma once

#include <cstdint>
#include <span>

#include "core/random.h"

namespace m6t::core {

struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
  static SipKey random(RandomSource& rng) { return {rng.next_u64(), rng.next_u64()}; }
};

std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> data);

}  // namespace m6t::core
