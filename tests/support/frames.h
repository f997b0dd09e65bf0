// Ethernet frames as the fast path's programs see them at the TC hooks: m6t datagrams
// (Ethernet, IPv4, UDP, the IPv6 packet) and IPv6 packets behind an Ethernet header (what
// BPF_PROG_TEST_RUN makes of a TUN device's packet), with every field a test may want wrong.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/address.h"
#include "core/wire.h"

namespace m6t::testing {

inline constexpr std::size_t kEthLen = 14;

struct Datagram {
  core::Endpoint4 src;
  core::Endpoint4 dst;
  bool df = false;
  std::uint8_t ihl = 5;    // > 5: IPv4 options (zeros)
  std::uint16_t frag = 0;  // the fragment offset and MF bits
  std::uint8_t proto = 17;
  int udp_len_delta = 0;  // a UDP length that lies
  enum class Checksum { kValid, kZero, kPartial } checksum = Checksum::kValid;
};

inline std::uint32_t sum16(std::span<const std::uint8_t> b, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < b.size(); i += 2)
    sum += static_cast<std::uint32_t>(b[i] << 8 | b[i + 1]);
  if (b.size() % 2) sum += static_cast<std::uint32_t>(b.back() << 8);
  return sum;
}

inline std::uint16_t fold16(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

inline void put16(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}

inline void put32(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
  put16(f, at, v >> 16);
  put16(f, at + 2, v & 0xffff);
}

inline std::vector<std::uint8_t> ethernet(std::uint16_t type) {
  std::vector<std::uint8_t> f = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0, 0};
  put16(f, 12, type);
  return f;
}

inline std::vector<std::uint8_t> udp_frame(const Datagram& d,
                                           std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> f = ethernet(0x0800);
  const std::size_t ip = f.size();
  const std::size_t ihl_bytes = d.ihl * 4u;
  f.resize(ip + ihl_bytes + wire::kUdpHeaderLen, 0);
  f[ip] = static_cast<std::uint8_t>(0x40 | d.ihl);
  put16(f, ip + 2, static_cast<std::uint32_t>(ihl_bytes + wire::kUdpHeaderLen + payload.size()));
  put16(f, ip + 4, 0x1234);
  put16(f, ip + 6, (d.df ? 0x4000u : 0u) | d.frag);
  f[ip + 8] = 64;
  f[ip + 9] = d.proto;
  put32(f, ip + 12, d.src.addr.value);
  put32(f, ip + 16, d.dst.addr.value);
  put16(f, ip + 10,
        static_cast<std::uint16_t>(~fold16(sum16(std::span(f).subspan(ip, ihl_bytes)))));
  const std::size_t udp = ip + ihl_bytes;
  const auto udp_len =
      static_cast<std::uint32_t>(wire::kUdpHeaderLen + payload.size() + d.udp_len_delta);
  put16(f, udp, d.src.port);
  put16(f, udp + 2, d.dst.port);
  put16(f, udp + 4, udp_len);
  f.insert(f.end(), payload.begin(), payload.end());
  std::uint32_t pseudo = (d.src.addr.value >> 16) + (d.src.addr.value & 0xffff) +
                         (d.dst.addr.value >> 16) + (d.dst.addr.value & 0xffff) + 17 +
                         (udp_len & 0xffff);
  std::uint16_t check = 0;
  if (d.checksum == Datagram::Checksum::kPartial) {
    check = fold16(pseudo);  // what a CHECKSUM_PARTIAL datagram carries
  } else if (d.checksum == Datagram::Checksum::kValid) {
    check = static_cast<std::uint16_t>(~fold16(sum16(std::span(f).subspan(udp), pseudo)));
    if (check == 0) check = 0xffff;
  }
  put16(f, udp + 6, check);
  return f;
}

inline std::vector<std::uint8_t> ipv6_frame(std::span<const std::uint8_t> packet) {
  std::vector<std::uint8_t> f = ethernet(0x86dd);
  f.insert(f.end(), packet.begin(), packet.end());
  return f;
}

inline std::uint16_t get16(std::span<const std::uint8_t> f, std::size_t at) {
  return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]);
}

inline std::uint32_t get32(std::span<const std::uint8_t> f, std::size_t at) {
  return static_cast<std::uint32_t>(get16(f, at)) << 16 | get16(f, at + 2);
}

}  // namespace m6t::testing
