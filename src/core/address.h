// Address value types and the m6t addressing plan (§2.2).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/random.h"

namespace m6t::core {

struct Ipv4Addr {
  std::uint32_t value = 0;  // host byte order

  static Ipv4Addr from_bytes(std::span<const std::uint8_t, 4> b);
  std::array<std::uint8_t, 4> bytes() const;
  static std::optional<Ipv4Addr> parse(std::string_view text);
  std::string to_string() const;
  bool is_unspecified() const { return value == 0; }
  auto operator<=>(const Ipv4Addr&) const = default;
};

struct Ipv6Addr {
  std::array<std::uint8_t, 16> b{};

  static Ipv6Addr from_bytes(std::span<const std::uint8_t, 16> bytes);
  static std::optional<Ipv6Addr> parse(std::string_view text);
  std::string to_string() const;  // RFC 5952 form

  bool is_unspecified() const;
  bool is_loopback() const;
  bool is_multicast() const { return b[0] == 0xff; }
  bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  bool is_v4_mapped() const;
  auto operator<=>(const Ipv6Addr&) const = default;
};

// An IPv4 address and UDP port: one side of a tunnel datagram.
struct Endpoint4 {
  Ipv4Addr addr;
  std::uint16_t port = 0;

  // "A.B.C.D:PORT"; the port must be 1..65535.
  static std::optional<Endpoint4> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const Endpoint4&) const = default;
};

struct Ipv6Prefix {
  Ipv6Addr addr;  // host bits are always zero
  unsigned len = 0;

  // "ADDR/LEN". Host bits beyond LEN must be zero: a prefix given with stray bits is almost
  // always a typo for something else, so it is refused rather than silently masked.
  static std::optional<Ipv6Prefix> parse(std::string_view text);
  std::string to_string() const;
  bool contains(const Ipv6Addr& a) const;
  auto operator<=>(const Ipv6Prefix&) const = default;
};

// Why a prefix string was refused, for error messages.
std::string_view prefix_parse_error(std::string_view text);
// Why an "A.B.C.D:PORT" string was refused (empty when it parses), for error messages.
std::string_view endpoint_parse_error(std::string_view text);

// RFC 4193 §3.2: a locally assigned ULA /48 (fd00::/8 + 40-bit pseudo-random Global ID).
// §3.2.2's SHA-1 construction only exists to derive randomness on hosts without a good source;
// the injected source is a CSPRNG in the daemons, which is what §3.2 actually requires.
Ipv6Prefix make_ula48(RandomSource& rng);

// §2.2: the MN's /80 = /48 ULA prefix | 16-bit subnet ID | 16-bit MN ID. The /48 need not be a
// ULA ("nothing prevents an administrator to use an internal prefix"), only a /48.
std::optional<Ipv6Prefix> make_mn_prefix(const Ipv6Prefix& p48, std::uint16_t subnet,
                                         std::uint16_t mn_id);

// Slices of a cluster of gateways (docs/deployment.md, "More than one gateway"): the /48 split
// by the top `slice_bits` (1 to 15) of the 16-bit subnet ID into 2^slice_bits slices of
// /(48 + slice_bits), each announced by the gateways ranked for it. Slice `slice`'s prefix:
std::optional<Ipv6Prefix> make_slice_prefix(const Ipv6Prefix& p48, unsigned slice_bits,
                                            std::uint32_t slice);
// The subnet ID of subnet `subnet` (0 to 2^(16 - slice_bits) - 1) of that slice.
std::optional<std::uint16_t> slice_subnet_id(unsigned slice_bits, std::uint32_t slice,
                                             std::uint32_t subnet);

// 48 random bits as drawn at each new IPv4 attachment (§3). Zero is never drawn: with MN ID 0
// it would give the Subnet-Router anycast address (RFC 4291 §2.6.1).
std::uint64_t draw_random48(RandomSource& rng);

// §2.2: tunnel address = /80 prefix | 48-bit random value.
Ipv6Addr make_tunnel_address(const Ipv6Prefix& p80, std::uint64_t random48);
// The random value of a tunnel address (its last 48 bits).
std::uint64_t random48_of(const Ipv6Addr& a);

}  // namespace m6t::core
