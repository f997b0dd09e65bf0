#include "core/state_file.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "core/enum_names.h"
#include "core/siphash.h"
#include "core/wire.h"

namespace m6t::core {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(StateFileError::kCount)>
    kErrorNames = {"too_short",    "bad_magic",  "bad_version",     "bad_length",
                   "bad_checksum", "bad_record", "too_many_records"};

constexpr SipKey kChecksumKey{wire::kStateFileKey0, wire::kStateFileKey1};
// A remaining time beyond this is no lifetime a gateway gives (a day is 1000 times the
// default active lifetime): such a record is refused as out of range.
constexpr std::uint32_t kMaxRemainingMs = 24u * 3600u * 1000u;

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void endpoint(const Endpoint4& e) {
    u32(e.addr.value);
    u16(e.port);
  }

 private:
  std::vector<std::uint8_t>& out_;
};

// Reads within a span whose length the caller has checked: never past its end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint8_t u8() { return in_[pos_++]; }
  std::uint16_t u16() {
    std::uint16_t hi = u8();
    return static_cast<std::uint16_t>(hi << 8 | u8());
  }
  std::uint32_t u32() {
    std::uint32_t hi = u16();
    return hi << 16 | u16();
  }
  std::uint64_t u64() {
    std::uint64_t hi = u32();
    return hi << 32 | u32();
  }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    auto b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  Endpoint4 endpoint() {
    Endpoint4 e;
    e.addr.value = u32();
    e.port = u16();
    return e;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

std::uint32_t ms32(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, kMaxRemainingMs));
}

bool valid(const SavedState& s, std::uint8_t source, std::uint16_t reserved) {
  return reserved == 0 && source < 3 && s.remote.port != 0 && s.local.port != 0 &&
         !s.remote.addr.is_unspecified() && s.mtu >= wire::kMinIpv6Mtu && s.mtu <= wire::kMaxMtu &&
         !s.mn.is_multicast() && !s.mn.is_unspecified();
}

}  // namespace

std::string_view to_string(StateFileError e) {
  return name_of(kErrorNames, e);
}

void encode_state_file(const StateSnapshot& s, std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(wire::kStateFileHeaderLen + s.states.size() * wire::kStateFileRecordLen +
              wire::kStateFileTrailerLen);
  Writer w(out);
  w.bytes(wire::kStateFileMagic);
  w.u16(wire::kStateFileVersion);
  w.u16(static_cast<std::uint16_t>(wire::kStateFileRecordLen));
  w.u32(static_cast<std::uint32_t>(s.states.size()));
  w.u64(static_cast<std::uint64_t>(s.saved_at_unix_ms));
  w.u64(0);
  for (const SavedState& r : s.states) {
    w.bytes(r.mn.b);
    w.endpoint(r.remote);
    w.endpoint(r.local);
    w.u32(ms32(r.remaining));
    w.u32(r.mtu);
    w.u8(static_cast<std::uint8_t>(r.mtu_source));
    w.u8(r.df ? 1 : 0);
    w.u16(0);
    w.u32(ms32(r.mtu_age_left));
    w.u32(r.ifindex);
  }
  w.u64(siphash24(kChecksumKey, out));
}

Result<StateSnapshot, StateFileError> decode_state_file(std::span<const std::uint8_t> data,
                                                        std::size_t max_records) {
  if (data.size() < wire::kStateFileHeaderLen + wire::kStateFileTrailerLen)
    return StateFileError::kTooShort;
  Reader r(data);
  auto magic = r.bytes(sizeof wire::kStateFileMagic);
  if (!std::equal(magic.begin(), magic.end(), std::begin(wire::kStateFileMagic)))
    return StateFileError::kBadMagic;
  if (r.u16() != wire::kStateFileVersion) return StateFileError::kBadVersion;
  if (r.u16() != wire::kStateFileRecordLen) return StateFileError::kBadLength;
  const std::uint32_t count = r.u32();
  if (count > max_records) return StateFileError::kTooManyRecords;
  const std::size_t body = data.size() - wire::kStateFileHeaderLen - wire::kStateFileTrailerLen;
  if (body != std::size_t{count} * wire::kStateFileRecordLen) return StateFileError::kBadLength;
  const auto covered = data.first(data.size() - wire::kStateFileTrailerLen);
  Reader trailer(data.last(wire::kStateFileTrailerLen));
  if (trailer.u64() != siphash24(kChecksumKey, covered)) return StateFileError::kBadChecksum;

  StateSnapshot s;
  s.saved_at_unix_ms = static_cast<std::int64_t>(r.u64());
  if (r.u64() != 0 || s.saved_at_unix_ms < 0) return StateFileError::kBadRecord;
  s.states.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    SavedState x;
    x.mn = Ipv6Addr::from_bytes(r.bytes(16).first<16>());
    x.remote = r.endpoint();
    x.local = r.endpoint();
    const std::uint32_t remaining = r.u32();
    x.mtu = r.u32();
    const std::uint8_t source = r.u8();
    const std::uint8_t df = r.u8();
    const std::uint16_t reserved = r.u16();
    const std::uint32_t age_left = r.u32();
    x.ifindex = r.u32();
    if (!valid(x, source, reserved) || df > 1 || remaining > kMaxRemainingMs ||
        age_left > kMaxRemainingMs)
      return StateFileError::kBadRecord;
    x.remaining = std::chrono::milliseconds(remaining);
    x.mtu_age_left = std::chrono::milliseconds(age_left);
    x.mtu_source = static_cast<MtuSource>(source);
    x.df = df == 1;
    s.states.push_back(x);
  }
  return s;
}

}  // namespace m6t::core
