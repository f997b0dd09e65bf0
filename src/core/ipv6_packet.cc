#include "core/ipv6_packet.h"

#include <algorithm>
#include <cstring>

namespace m6t::core {

using namespace wire;

Ipv6Addr Ipv6View::addr_at(std::size_t off) const {
  return Ipv6Addr::from_bytes(bytes_.subspan(off).first<16>());
}

bool Ipv6View::src_is(const Ipv6Addr& a) const {
  return std::memcmp(bytes_.data() + kIpv6SrcOffset, a.b.data(), kIpv6AddrLen) == 0;
}

bool Ipv6View::dst_is(const Ipv6Addr& a) const {
  return std::memcmp(bytes_.data() + kIpv6DstOffset, a.b.data(), kIpv6AddrLen) == 0;
}

Result<Ipv6View> decode_ipv6(std::span<const std::uint8_t> pkt, std::size_t max_len) {
  if (pkt.size() < kIpv6HeaderLen) return Drop::kTruncated;
  if ((pkt[kIpv6VersionOffset] >> 4) != kIpv6Version) return Drop::kBadVersion;
  std::size_t payload =
      (std::size_t{pkt[kIpv6PayloadLenOffset]} << 8) | pkt[kIpv6PayloadLenOffset + 1];
  if (kIpv6HeaderLen + payload != pkt.size()) return Drop::kLengthMismatch;
  if (pkt.size() > max_len) return Drop::kOversized;
  return Ipv6View(pkt);
}

namespace {

Ipv6Addr keepalive_addr() {
  return Ipv6Addr::from_bytes(std::span(kKeepaliveDst));
}

void write_header(std::span<std::uint8_t> out, std::size_t payload, std::uint8_t next_header,
                  std::uint8_t hop_limit, const Ipv6Addr& src, const Ipv6Addr& dst) {
  std::memset(out.data(), 0, kIpv6HeaderLen);
  out[0] = kIpv6Version << 4;
  out[kIpv6PayloadLenOffset] = static_cast<std::uint8_t>(payload >> 8);
  out[kIpv6PayloadLenOffset + 1] = static_cast<std::uint8_t>(payload);
  out[kIpv6NextHeaderOffset] = next_header;
  out[kIpv6HopLimitOffset] = hop_limit;
  std::memcpy(out.data() + kIpv6SrcOffset, src.b.data(), kIpv6AddrLen);
  std::memcpy(out.data() + kIpv6DstOffset, dst.b.data(), kIpv6AddrLen);
}

std::uint32_t sum16(std::span<const std::uint8_t> data, std::uint32_t acc) {
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2)
    acc += (std::uint32_t{data[i]} << 8) | data[i + 1];
  if (i < data.size()) acc += std::uint32_t{data[i]} << 8;
  return acc;
}

}  // namespace

bool is_keepalive(const Ipv6View& p) {
  return p.next_header() == kNextHeaderNone && p.payload_len() == 0 && p.dst_is(keepalive_addr());
}

bool is_keepalive_reply(const Ipv6View& p) {
  return p.next_header() == kNextHeaderNone && p.payload_len() == 0 && p.src_is(keepalive_addr());
}

std::size_t write_keepalive(std::span<std::uint8_t> out, const Ipv6Addr& src) {
  write_header(out, 0, kNextHeaderNone, kKeepaliveHopLimit, src, keepalive_addr());
  return kKeepaliveLen;
}

void make_keepalive_reply_in_place(std::span<std::uint8_t> pkt) {
  std::uint8_t tmp[kIpv6AddrLen];
  std::memcpy(tmp, pkt.data() + kIpv6SrcOffset, kIpv6AddrLen);
  std::memcpy(pkt.data() + kIpv6SrcOffset, pkt.data() + kIpv6DstOffset, kIpv6AddrLen);
  std::memcpy(pkt.data() + kIpv6DstOffset, tmp, kIpv6AddrLen);
}

std::uint16_t icmpv6_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                              std::span<const std::uint8_t> message) {
  std::uint32_t acc = 0;
  acc = sum16(src.b, acc);
  acc = sum16(dst.b, acc);
  auto len = static_cast<std::uint32_t>(message.size());
  acc += (len >> 16) + (len & 0xffff);
  acc += kNextHeaderIcmpv6;
  acc = sum16(message, acc);
  while (acc >> 16)
    acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc);
}

std::size_t write_packet_too_big(std::span<std::uint8_t> out, const Ipv6Addr& src,
                                 const Ipv6View& offending, std::uint32_t mtu) {
  Ipv6Addr to = offending.src();
  if (to.is_multicast() || to.is_unspecified()) return 0;
  // RFC 4443 §2.4(e.1): never answer an ICMPv6 error. Only a directly following ICMPv6
  // header is recognised; one behind extension headers is quoted like any other packet.
  if (offending.next_header() == kNextHeaderIcmpv6 && offending.payload_len() >= 1 &&
      offending.bytes()[kIpv6HeaderLen] < 128)
    return 0;
  if (out.size() < kIcmpv6ErrorMaxLen) return 0;
  std::size_t quoted =
      std::min(offending.size(), kIcmpv6ErrorMaxLen - kIpv6HeaderLen - kIcmpv6HeaderLen);
  std::size_t message_len = kIcmpv6HeaderLen + quoted;
  write_header(out, message_len, kNextHeaderIcmpv6, 64, src, to);
  auto msg = out.subspan(kIpv6HeaderLen, message_len);
  msg[0] = kIcmpv6PacketTooBig;
  msg[1] = 0;
  msg[2] = msg[3] = 0;
  msg[4] = static_cast<std::uint8_t>(mtu >> 24);
  msg[5] = static_cast<std::uint8_t>(mtu >> 16);
  msg[6] = static_cast<std::uint8_t>(mtu >> 8);
  msg[7] = static_cast<std::uint8_t>(mtu);
  std::memcpy(msg.data() + kIcmpv6HeaderLen, offending.bytes().data(), quoted);
  std::uint16_t sum = icmpv6_checksum(src, to, msg);
  msg[2] = static_cast<std::uint8_t>(sum >> 8);
  msg[3] = static_cast<std::uint8_t>(sum);
  return kIpv6HeaderLen + message_len;
}

}  // namespace m6t::core
