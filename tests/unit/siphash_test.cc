#include "core/siphash.h"

#include <gtest/gtest.h>

#include <array>

namespace m6t::core {
namespace {

// Reference vector of the SipHash paper (Aumasson & Bernstein 2012, Appendix A): key
// 00 01 .. 0f, message 00 01 .. 0e.
TEST(SipHash, MatchesThePaperVector) {
  SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::array<std::uint8_t, 15> msg{};
  for (std::size_t i = 0; i < msg.size(); ++i)
    msg[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(siphash24(key, msg), 0xa129ca6149be45e5ULL);
}

// First entries of the reference implementation's vectors.h (empty and one-byte messages).
TEST(SipHash, MatchesReferenceVectorsForShortInputs) {
  SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  EXPECT_EQ(siphash24(key, {}), 0x726fdb47dd0e0e31ULL);
  std::uint8_t one[1] = {0};
  EXPECT_EQ(siphash24(key, one), 0x74f839c593dc67fdULL);
}

TEST(SipHash, DependsOnTheKey) {
  std::uint8_t msg[16] = {0xfd};
  EXPECT_NE(siphash24({1, 2}, msg), siphash24({1, 3}, msg));
}

}  // namespace
}  // namespace m6t::core
