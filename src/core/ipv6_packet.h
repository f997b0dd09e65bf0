// Strict decoding of the IPv6 packets a tunnel carries, and the two packets m6t itself builds:
// the keepalive (§2.3) and ICMPv6 Packet Too Big (§2.6, RFC 4443 §3.2).
//
// What the decoder decides:
// - The datagram must hold exactly one IPv6 packet: 40 + payload length == datagram length.
//   UDP keeps datagram boundaries, so trailing bytes can only come from corruption or crafting,
//   and a short one is a truncation: both are dropped (kLengthMismatch). A jumbogram (payload
//   length 0 with a Hop-by-Hop jumbo option, RFC 2675) cannot fit a UDP datagram and is dropped
//   by the same rule.
// - Extension headers are carried untouched and not parsed. MIPv6 needs them (the Home Address
//   option and the type 2 Routing Header, RFC 6275 §6.3/§6.4) and IPsec sits behind them; the
//   gateway's checks (§6.1.3) concern the fixed header, whose destination is the node that
//   processes the extension headers next: the home agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/address.h"
#include "core/result.h"
#include "core/wire.h"

namespace m6t::core {

class Ipv6View {
 public:
  Ipv6View() = default;
  explicit Ipv6View(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::span<const std::uint8_t> bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  std::size_t payload_len() const { return bytes_.size() - wire::kIpv6HeaderLen; }
  std::uint8_t next_header() const { return bytes_[wire::kIpv6NextHeaderOffset]; }
  std::uint8_t hop_limit() const { return bytes_[wire::kIpv6HopLimitOffset]; }
  Ipv6Addr src() const { return addr_at(wire::kIpv6SrcOffset); }
  Ipv6Addr dst() const { return addr_at(wire::kIpv6DstOffset); }
  bool src_is(const Ipv6Addr& a) const;
  bool dst_is(const Ipv6Addr& a) const;

 private:
  Ipv6Addr addr_at(std::size_t off) const;
  std::span<const std::uint8_t> bytes_;
};

// Checks, in order: at least a header (kTruncated), version 6 (kBadVersion), exact length
// (kLengthMismatch), at most max_len bytes (kOversized).
Result<Ipv6View> decode_ipv6(std::span<const std::uint8_t> pkt, std::size_t max_len);

// §2.3: next header 59, payload length 0, destination fe80::1.
bool is_keepalive(const Ipv6View& p);
// §2.3: the gateway's answer, "a similar message but with the addresses reversed".
bool is_keepalive_reply(const Ipv6View& p);
// Writes a keepalive from `src` into `out` (kKeepaliveLen bytes) and returns its length.
std::size_t write_keepalive(std::span<std::uint8_t> out, const Ipv6Addr& src);
// Turns a keepalive, in place, into its reply (source and destination swapped).
void make_keepalive_reply_in_place(std::span<std::uint8_t> pkt);

// RFC 4443 §2.3: the ICMPv6 checksum over the pseudo-header and the message.
std::uint16_t icmpv6_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                              std::span<const std::uint8_t> message);

// RFC 4443 §3.2: a Packet Too Big from `src` to the source of `offending`, quoting as much of
// it as fits in the minimum MTU. Returns the length written to `out`, which must hold
// kIcmpv6ErrorMaxLen bytes; 0 when no error may be sent (RFC 4443 §2.4(e): never in answer to
// an ICMPv6 error, nor to a packet from a multicast, unspecified or our own source).
std::size_t write_packet_too_big(std::span<std::uint8_t> out, const Ipv6Addr& src,
                                 const Ipv6View& offending, std::uint32_t mtu);

}  // namespace m6t::core
