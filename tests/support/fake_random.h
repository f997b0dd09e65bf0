// Deterministic random sources for tests and fuzzing.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "core/random.h"

namespace m6t::testing {

// A xorshift64* stream: reproducible, seeded. Optional scripted 64-bit values come first
// (each consumed by one next_u64(), i.e. one 8-byte fill).
class FakeRandom final : public core::RandomSource {
 public:
  explicit FakeRandom(std::uint64_t seed = 0x9e3779b97f4a7c15ULL) : state_(seed ? seed : 1) {}
  void script(std::uint64_t v) { scripted_.push_back(v); }

  void fill(std::span<std::uint8_t> out) override {
    if (out.size() == 8 && !scripted_.empty()) {
      std::uint64_t v = scripted_.front();
      scripted_.pop_front();
      for (int i = 7; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
        v >>= 8;
      }
      return;
    }
    for (auto& b : out)
      b = static_cast<std::uint8_t>(next() >> 56);
  }

 private:
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  std::uint64_t state_;
  std::deque<std::uint64_t> scripted_;
};

}  // namespace m6t::testing
