// The daemons' random source: getrandom(2), the kernel CSPRNG.
#pragma once

#include "core/random.h"

namespace m6t::os {

class SystemRandom final : public core::RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace m6t::os
