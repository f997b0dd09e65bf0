#include "attack/ipv4_frame.h"

#include <algorithm>
#include <cstring>

namespace m6t::attack {

namespace {

void put16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_addr(std::uint8_t* p, core::Ipv4Addr a) {
  auto b = a.bytes();
  std::memcpy(p, b.data(), 4);
}

}  // namespace

std::size_t frame_ipv4_udp(const core::Endpoint4& src, const core::Endpoint4& dst,
                           std::span<const std::uint8_t> payload, std::uint16_t id,
                           std::size_t link_mtu, std::span<std::uint8_t> out,
                           std::span<Frame> frames) {
  std::size_t udp_len = kUdpHeaderLen + payload.size();
  if (udp_len > 65535 - kIpv4HeaderLen || link_mtu < kIpv4HeaderLen + 8) return 0;
  // Fragment payloads are multiples of 8 bytes, except the last (RFC 791).
  std::size_t per_frame = (link_mtu - kIpv4HeaderLen) & ~std::size_t{7};
  std::size_t count = (udp_len + per_frame - 1) / per_frame;
  if (count > frames.size() || out.size() < udp_len + count * kIpv4HeaderLen) return 0;

  std::uint8_t* p = out.data();
  for (std::size_t f = 0; f < count; ++f) {
    std::size_t offset = f * per_frame;  // within the UDP datagram
    std::size_t len = std::min(per_frame, udp_len - offset);
    std::memset(p, 0, kIpv4HeaderLen);
    p[0] = 0x45;
    put16(p + 2, kIpv4HeaderLen + len);
    put16(p + 4, id == 0 ? 1 : id);
    put16(p + 6, (offset / 8) | (f + 1 < count ? kMoreFragments : 0));
    p[8] = 64;  // TTL
    p[9] = kProtoUdp;
    put_addr(p + 12, src.addr);
    put_addr(p + 16, dst.addr);
    std::uint8_t* body = p + kIpv4HeaderLen;
    std::size_t copied = 0;
    if (f == 0) {
      put16(body, src.port);
      put16(body + 2, dst.port);
      put16(body + 4, udp_len);
      body[6] = body[7] = 0;
      copied = kUdpHeaderLen;
    }
    std::size_t from = offset + copied - kUdpHeaderLen;  // into the payload
    if (len > copied) std::memcpy(body + copied, payload.data() + from, len - copied);
    frames[f] = Frame{std::span<const std::uint8_t>(p, kIpv4HeaderLen + len)};
    p += kIpv4HeaderLen + len;
  }
  return count;
}

}  // namespace m6t::attack
