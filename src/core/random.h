// The core's only source of randomness, injected by the caller (a CSPRNG in the daemons, a
// scripted sequence in tests).
#pragma once

#include <cstdint>
#include <span>

namespace m6t::core {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;

  std::uint64_t next_u64() {
    std::uint8_t b[8];
    fill(b);
    std::uint64_t v = 0;
    for (std::uint8_t x : b)
      v = (v << 8) | x;
    return v;
  }
};

}  // namespace m6t::core
