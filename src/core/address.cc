#include "core/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "core/wire.h"

namespace m6t::core {

Ipv4Addr Ipv4Addr::from_bytes(std::span<const std::uint8_t, 4> b) {
  return Ipv4Addr{(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                  (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]}};
}

std::array<std::uint8_t, 4> Ipv4Addr::bytes() const {
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  char buf[16];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::uint8_t out[4];
  // inet_pton accepts only the dotted-quad form, never "1.2.3" or octal: what users mean.
  if (inet_pton(AF_INET, buf, out) != 1) return std::nullopt;
  return from_bytes(out);
}

std::string Ipv4Addr::to_string() const {
  auto b = bytes();
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, b.data(), buf, sizeof buf);
  return buf;
}

Ipv6Addr Ipv6Addr::from_bytes(std::span<const std::uint8_t, 16> bytes) {
  Ipv6Addr a;
  std::memcpy(a.b.data(), bytes.data(), 16);
  return a;
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Ipv6Addr a;
  if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

bool Ipv6Addr::is_unspecified() const {
  return *this == Ipv6Addr{};
}

bool Ipv6Addr::is_loopback() const {
  Ipv6Addr one;
  one.b[15] = 1;
  return *this == one;
}

bool Ipv6Addr::is_v4_mapped() const {
  for (int i = 0; i < 10; ++i)
    if (b[i] != 0) return false;
  return b[10] == 0xff && b[11] == 0xff;
}

namespace {

std::optional<unsigned> parse_uint(std::string_view text, unsigned max) {
  unsigned v = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

bool host_bits_zero(const Ipv6Addr& a, unsigned len) {
  for (unsigned bit = len; bit < 128; ++bit)
    if (a.b[bit / 8] & (0x80u >> (bit % 8))) return false;
  return true;
}

}  // namespace

std::string_view endpoint_parse_error(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return "missing :PORT (ADDR:PORT, e.g. 203.0.113.2:4500)";
  if (!Ipv4Addr::parse(text.substr(0, colon))) return "not an IPv4 address before ':'";
  auto port = parse_uint(text.substr(colon + 1), 65535);
  if (!port || *port == 0) return "port is not a number from 1 to 65535";
  return {};
}

std::optional<Endpoint4> Endpoint4::parse(std::string_view text) {
  if (!endpoint_parse_error(text).empty()) return std::nullopt;
  auto colon = text.rfind(':');
  return Endpoint4{*Ipv4Addr::parse(text.substr(0, colon)),
                   static_cast<std::uint16_t>(*parse_uint(text.substr(colon + 1), 65535))};
}

std::string Endpoint4::to_string() const {
  return addr.to_string() + ":" + std::to_string(port);
}

std::string_view prefix_parse_error(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return "missing /LENGTH";
  if (!Ipv6Addr::parse(text.substr(0, slash))) return "not an IPv6 address before '/'";
  auto len = parse_uint(text.substr(slash + 1), 128);
  if (!len) return "length is not a number from 0 to 128";
  if (!host_bits_zero(*Ipv6Addr::parse(text.substr(0, slash)), *len))
    return "address has bits set beyond the prefix length";
  return {};
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view text) {
  if (!prefix_parse_error(text).empty()) return std::nullopt;
  auto slash = text.find('/');
  return Ipv6Prefix{*Ipv6Addr::parse(text.substr(0, slash)),
                    *parse_uint(text.substr(slash + 1), 128)};
}

std::string Ipv6Prefix::to_string() const {
  return addr.to_string() + "/" + std::to_string(len);
}

bool Ipv6Prefix::contains(const Ipv6Addr& a) const {
  unsigned full = len / 8;
  if (std::memcmp(a.b.data(), addr.b.data(), full) != 0) return false;
  unsigned rem = len % 8;
  if (rem == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff00u >> rem);
  return (a.b[full] & mask) == (addr.b[full] & mask);
}

Ipv6Prefix make_ula48(RandomSource& rng) {
  Ipv6Prefix p;
  p.addr.b[0] = wire::kUlaFirstByte;
  rng.fill(std::span(p.addr.b).subspan(1, 5));  // 40-bit Global ID
  p.len = wire::kUlaPrefixLen;
  return p;
}

std::optional<Ipv6Prefix> make_mn_prefix(const Ipv6Prefix& p48, std::uint16_t subnet,
                                         std::uint16_t mn_id) {
  if (p48.len != wire::kUlaPrefixLen) return std::nullopt;
  Ipv6Prefix p = p48;
  p.addr.b[6] = static_cast<std::uint8_t>(subnet >> 8);
  p.addr.b[7] = static_cast<std::uint8_t>(subnet);
  p.addr.b[8] = static_cast<std::uint8_t>(mn_id >> 8);
  p.addr.b[9] = static_cast<std::uint8_t>(mn_id);
  p.len = wire::kMnPrefixLen;
  return p;
}

std::optional<std::uint16_t> slice_subnet_id(unsigned slice_bits, std::uint32_t slice,
                                             std::uint32_t subnet) {
  constexpr unsigned kSubnetBits = wire::kMnPrefixLen - wire::kUlaPrefixLen - 16;  // 16
  if (slice_bits < 1 || slice_bits >= kSubnetBits) return std::nullopt;
  const unsigned inner = kSubnetBits - slice_bits;
  if (slice >= (1u << slice_bits) || subnet >= (1u << inner)) return std::nullopt;
  return static_cast<std::uint16_t>(slice << inner | subnet);
}

std::optional<Ipv6Prefix> make_slice_prefix(const Ipv6Prefix& p48, unsigned slice_bits,
                                            std::uint32_t slice) {
  auto id = slice_subnet_id(slice_bits, slice, 0);
  if (!id || p48.len != wire::kUlaPrefixLen) return std::nullopt;
  Ipv6Prefix p = p48;
  p.addr.b[6] = static_cast<std::uint8_t>(*id >> 8);
  p.addr.b[7] = static_cast<std::uint8_t>(*id);
  p.len = wire::kUlaPrefixLen + slice_bits;
  return p;
}

std::uint64_t draw_random48(RandomSource& rng) {
  std::uint64_t v = rng.next_u64() & ((std::uint64_t{1} << wire::kRandomBits) - 1);
  // Mapping the one excluded value onto 1 costs a 2^-48 bias and keeps the draw loop-free.
  return v != 0 ? v : 1;
}

Ipv6Addr make_tunnel_address(const Ipv6Prefix& p80, std::uint64_t random48) {
  Ipv6Addr a = p80.addr;
  for (int i = 0; i < 6; ++i)
    a.b[15 - i] = static_cast<std::uint8_t>(random48 >> (8 * i));
  return a;
}

std::uint64_t random48_of(const Ipv6Addr& a) {
  std::uint64_t v = 0;
  for (int i = 10; i < 16; ++i)
    v = (v << 8) | a.b[i];
  return v;
}

}  // namespace m6t::core
