#include "core/state_file.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/siphash.h"
#include "core/wire.h"
#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::ep;
using testing::v6;
using namespace std::chrono_literals;

StateSnapshot two_states() {
  StateSnapshot s;
  s.saved_at_unix_ms = 1'796'000'000'123;
  SavedState a;
  a.mn = v6("fd00:db8:1:0:1:aaaa:bbbb:cccc");
  a.remote = ep("198.51.100.1:40000");
  a.local = ep("203.0.113.2:4500");
  a.remaining = 81'250ms;
  a.mtu = 1472;
  a.ifindex = 3;
  SavedState b = a;
  b.mn = v6("fd00:db8:1:0:2::1");
  b.remote = ep("198.51.100.7:1");
  b.local = ep("203.0.113.2:53");
  b.mtu = 1400;
  b.mtu_source = MtuSource::kIcmp;
  b.df = true;
  b.mtu_age_left = 599'000ms;
  s.states = {a, b};
  return s;
}

std::vector<std::uint8_t> encoded(const StateSnapshot& s) {
  std::vector<std::uint8_t> out;
  encode_state_file(s, out);
  return out;
}

// Rewrites the trailer so that a change to the body is seen by the range checks, not the
// checksum (as a hostile file would be made).
void reseal(std::vector<std::uint8_t>& f) {
  f.resize(f.size() - wire::kStateFileTrailerLen);
  std::vector<std::uint8_t> body = f;
  const std::uint64_t sum = siphash24(SipKey{wire::kStateFileKey0, wire::kStateFileKey1}, body);
  for (int i = 7; i >= 0; --i)
    f.push_back(static_cast<std::uint8_t>(sum >> (8 * i)));
}

StateFileError error_of(const std::vector<std::uint8_t>& f, std::size_t max = 100) {
  auto r = decode_state_file(f, max);
  EXPECT_FALSE(r.ok());
  return r.error();
}

TEST(StateFile, RoundTripKeepsEveryField) {
  const StateSnapshot s = two_states();
  const auto f = encoded(s);
  EXPECT_EQ(f.size(),
            wire::kStateFileHeaderLen + 2 * wire::kStateFileRecordLen + wire::kStateFileTrailerLen);
  auto r = decode_state_file(f, 100);
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(r->saved_at_unix_ms, s.saved_at_unix_ms);
  EXPECT_EQ(r->states, s.states);
}

TEST(StateFile, AnEmptyTableIsAValidFile) {
  auto r = decode_state_file(encoded(StateSnapshot{}), 100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->states.empty());
}

TEST(StateFile, TruncatedOrExtendedFilesAreRefused) {
  const auto f = encoded(two_states());
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, std::size_t{39}})
    EXPECT_EQ(error_of(std::vector<std::uint8_t>(f.begin(), f.begin() + n)),
              StateFileError::kTooShort);
  EXPECT_EQ(error_of(std::vector<std::uint8_t>(f.begin(), f.end() - 1)),
            StateFileError::kBadLength);
  auto longer = f;
  longer.push_back(0);
  EXPECT_EQ(error_of(longer), StateFileError::kBadLength);
}

TEST(StateFile, MagicVersionAndRecordLengthAreChecked) {
  auto f = encoded(two_states());
  f[0] ^= 1;
  EXPECT_EQ(error_of(f), StateFileError::kBadMagic);
  f = encoded(two_states());
  f[9] = 2;  // version 2
  EXPECT_EQ(error_of(f), StateFileError::kBadVersion);
  f = encoded(two_states());
  f[11] = 47;  // record length
  EXPECT_EQ(error_of(f), StateFileError::kBadLength);
}

TEST(StateFile, AnyFlippedBitIsCaughtByTheChecksum) {
  const auto good = encoded(two_states());
  for (std::size_t i = wire::kStateFileHeaderLen; i < good.size(); i += 7) {
    auto f = good;
    f[i] ^= 0x10;
    EXPECT_EQ(error_of(f), StateFileError::kBadChecksum) << "byte " << i;
  }
}

TEST(StateFile, ACountBeyondTheTableIsRefusedBeforeReadingOn) {
  EXPECT_EQ(error_of(encoded(two_states()), 1), StateFileError::kTooManyRecords);
}

TEST(StateFile, OutOfRangeFieldsAreRefusedEvenWithAValidChecksum) {
  const std::size_t rec = wire::kStateFileHeaderLen;
  struct Case {
    const char* what;
    std::size_t offset;
    std::uint8_t value;
  };
  // Offsets within the first record: mn 0, remote 16, local 22, remaining 28, mtu 32,
  // source 36, df 37, reserved 38, age 40, ifindex 44.
  for (const Case& c : {Case{"multicast MN", 0, 0xff}, Case{"remote port 0 (high)", 20, 0},
                        Case{"MTU below 1280", 34, 0x01}, Case{"unknown MTU source", 36, 9},
                        Case{"DF neither 0 nor 1", 37, 2}, Case{"reserved bits", 39, 1},
                        Case{"remaining beyond a day", 28, 0xff}}) {
    auto f = encoded(two_states());
    f[rec + c.offset] = c.value;
    if (c.offset == 20) f[rec + 21] = 0;  // the whole port
    if (c.offset == 34) f[rec + 35] = 0;  // MTU 256
    reseal(f);
    EXPECT_EQ(error_of(f), StateFileError::kBadRecord) << c.what;
  }
  auto f = encoded(two_states());
  f[31] = 1;  // the header's reserved word
  reseal(f);
  EXPECT_EQ(error_of(f), StateFileError::kBadRecord);
}

TEST(StateFile, ErrorsHaveNames) {
  EXPECT_EQ(to_string(StateFileError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(to_string(StateFileError::kTooManyRecords), "too_many_records");
  EXPECT_EQ(to_string(StateFileError::kCount), "?");
}

}  // namespace
}  // namespace m6t::core
