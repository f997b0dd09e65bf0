#include "attack/attack_packets.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/ipv6_packet.h"
#include "core/wire.h"

namespace m6t::attack {

using core::Drop;
using core::Endpoint4;
using core::Ipv6Addr;
namespace wire = m6t::wire;

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Mode::kCount)> kModeNames = {
    "flood", "ports", "hijack", "keepalive", "non-ha", "malformed"};

constexpr std::uint8_t kIcmpv6EchoRequest = 128;  // RFC 4443 §4.1
constexpr std::uint16_t kFirstPort = 1024;
constexpr std::uint32_t kPortCount = 65536 - kFirstPort;

Ipv6Addr v6(std::string_view s) {
  return *Ipv6Addr::parse(s);
}

// A fixed IPv6 header; the payload (data_len bytes) is left to the caller.
std::size_t header(std::span<std::uint8_t> buf, const Ipv6Addr& src, const Ipv6Addr& dst,
                   std::size_t payload_len, std::uint8_t next_header) {
  std::memset(buf.data(), 0, wire::kIpv6HeaderLen);
  buf[0] = wire::kIpv6Version << 4;
  buf[wire::kIpv6PayloadLenOffset] = static_cast<std::uint8_t>(payload_len >> 8);
  buf[wire::kIpv6PayloadLenOffset + 1] = static_cast<std::uint8_t>(payload_len);
  buf[wire::kIpv6NextHeaderOffset] = next_header;
  buf[wire::kIpv6HopLimitOffset] = 64;
  std::memcpy(buf.data() + wire::kIpv6SrcOffset, src.b.data(), wire::kIpv6AddrLen);
  std::memcpy(buf.data() + wire::kIpv6DstOffset, dst.b.data(), wire::kIpv6AddrLen);
  return wire::kIpv6HeaderLen + payload_len;
}

// A data packet: next header 59 with data_len bytes of filler, or an ICMPv6 echo request.
std::size_t data_packet(std::span<std::uint8_t> buf, const AttackConfig& c, Payload payload,
                        const Ipv6Addr& src, const Ipv6Addr& dst, std::uint64_t i) {
  if (payload == Payload::kNone) {
    std::size_t n = header(buf, src, dst, c.data_len, wire::kNextHeaderNone);
    std::memset(buf.data() + wire::kIpv6HeaderLen, 0xa5, c.data_len);
    return n;
  }
  std::size_t len = std::max<std::size_t>(c.data_len, wire::kIcmpv6HeaderLen);
  std::size_t n = header(buf, src, dst, len, wire::kNextHeaderIcmpv6);
  auto msg = buf.subspan(wire::kIpv6HeaderLen, len);
  std::memset(msg.data(), 0x5a, len);
  msg[0] = kIcmpv6EchoRequest;
  msg[1] = 0;
  msg[2] = msg[3] = 0;
  msg[4] = static_cast<std::uint8_t>(i >> 8);  // identifier
  msg[5] = static_cast<std::uint8_t>(i);
  msg[6] = static_cast<std::uint8_t>(i >> 24);  // sequence number
  msg[7] = static_cast<std::uint8_t>(i >> 16);
  std::uint16_t sum = core::icmpv6_checksum(src, dst, msg);
  msg[2] = static_cast<std::uint8_t>(sum >> 8);
  msg[3] = static_cast<std::uint8_t>(sum);
  return n;
}

std::size_t keepalive(std::span<std::uint8_t> buf, const Ipv6Addr& src) {
  return core::write_keepalive(buf, src);
}

Endpoint4 source_of(const AttackConfig& c, std::uint64_t i) {
  std::uint64_t n = source_count(c);
  auto addr = core::Ipv4Addr{static_cast<std::uint32_t>(c.from_net.value + i % n)};
  auto port = static_cast<std::uint16_t>(kFirstPort + (i / n) % kPortCount);
  return {addr, port};
}

// Another port of the victim's NAT address: the victim's own binding is never reproduced.
Endpoint4 victim_nat_other_port(const Endpoint4& v, std::uint64_t i) {
  std::uint32_t off = 1 + static_cast<std::uint32_t>(i % (kPortCount - 1));
  std::uint32_t port = kFirstPort + (v.port - kFirstPort + off) % kPortCount;
  if (v.port < kFirstPort) port = kFirstPort + static_cast<std::uint32_t>(i % kPortCount);
  return {v.addr, static_cast<std::uint16_t>(port)};
}

Ipv6Addr outside_prefix(const core::Ipv6Prefix& p) {
  Ipv6Addr a = p.addr;
  unsigned bit = p.len == 0 ? 0 : p.len - 1;  // flip the last bit of the prefix
  a.b[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  a.b[15] |= 1;
  return a;
}

Datagram malformed(const AttackConfig& c, std::uint64_t i, std::span<std::uint8_t> buf) {
  constexpr std::uint64_t kShapes = 14;
  Endpoint4 src = source_of(c, i);
  Ipv6Addr mn = nth_source(c.prefix, c.run, i);
  auto out = [&](std::size_t n, Drop d) { return Datagram{src, buf.first(n), d}; };
  switch (i % kShapes) {
    case 0:  // an empty datagram
      return out(0, Drop::kTruncated);
    case 1:  // less than an IPv6 header
      header(buf, mn, c.home_agent, 0, wire::kNextHeaderNone);
      return out(wire::kIpv6HeaderLen - 1, Drop::kTruncated);
    case 2: {  // an IPv4 header where IPv6 is expected
      header(buf, mn, c.home_agent, 0, wire::kNextHeaderNone);
      buf[0] = 0x45;
      return out(wire::kIpv6HeaderLen, Drop::kBadVersion);
    }
    case 3: {  // version 0
      std::size_t n = header(buf, mn, c.home_agent, 8, wire::kNextHeaderNone);
      buf[0] = 0;
      return out(n, Drop::kBadVersion);
    }
    case 4:  // payload length larger than the datagram
      header(buf, mn, c.home_agent, 100, wire::kNextHeaderNone);
      return out(wire::kIpv6HeaderLen + 8, Drop::kLengthMismatch);
    case 5:  // trailing bytes after the packet
      header(buf, mn, c.home_agent, 0, wire::kNextHeaderNone);
      std::memset(buf.data() + wire::kIpv6HeaderLen, 0, 8);
      return out(wire::kIpv6HeaderLen + 8, Drop::kLengthMismatch);
    case 6:  // the largest payload length, in a small datagram
      header(buf, mn, c.home_agent, 0xffff, wire::kNextHeaderNone);
      return out(wire::kIpv6HeaderLen + 20, Drop::kLengthMismatch);
    case 7: {  // well formed, one byte over the tunnel MTU (the datagram is fragmented)
      std::size_t payload = c.mtu + 1 - wire::kIpv6HeaderLen;
      std::size_t n = header(buf, mn, c.home_agent, payload, wire::kNextHeaderNone);
      std::memset(buf.data() + wire::kIpv6HeaderLen, 0, payload);
      return out(n, Drop::kOversized);
    }
    default: {  // §6.1.3 sanity checks on the source
      static const std::array<Ipv6Addr, 5> kInvalid = {v6("ff02::1"), v6("fe80::1234"), v6("::1"),
                                                       v6("::"), v6("::ffff:192.0.2.1")};
      std::uint64_t k = i % kShapes - 8;
      bool outside = k >= kInvalid.size();
      std::size_t n = header(buf, outside ? outside_prefix(c.prefix) : kInvalid[k], c.home_agent, 0,
                             wire::kNextHeaderNone);
      return out(n, outside ? Drop::kSrcOutsidePrefix : Drop::kSrcInvalid);
    }
  }
}

Ipv6Addr not_home_agent(const AttackConfig& c, std::uint64_t i) {
  switch (i % 5) {
    case 0: {  // a neighbour of the home agent
      Ipv6Addr a = c.home_agent;
      a.b[15] ^= 0x5a;
      return a;
    }
    case 1:
      return v6("ff02::1");
    case 2:  // another MN: MN-to-MN traffic must go through the home agent
      return c.victim.value_or(nth_source(c.prefix, c.run ^ 0xff, i));
    case 3: {
      Ipv6Addr a = v6("2001:db8:ffff::");
      for (int k = 0; k < 8; ++k)
        a.b[15 - k] = static_cast<std::uint8_t>(i >> (8 * k));
      return a;
    }
    default:  // the keepalive address with a payload: not a keepalive
      return Ipv6Addr::from_bytes(std::span(wire::kKeepaliveDst));
  }
}

}  // namespace

std::string_view to_string(Mode m) {
  return kModeNames[static_cast<std::size_t>(m)];
}

std::optional<Mode> parse_mode(std::string_view s) {
  for (std::size_t i = 0; i < kModeNames.size(); ++i)
    if (kModeNames[i] == s) return static_cast<Mode>(i);
  return std::nullopt;
}

std::uint64_t source_count(const AttackConfig& c) {
  unsigned host_bits = 32 - std::min(c.from_len, 32u);
  return std::uint64_t{1} << host_bits;
}

Ipv6Addr nth_source(const core::Ipv6Prefix& prefix, std::uint32_t run, std::uint64_t i) {
  std::uint64_t host =
      (std::uint64_t{run & 0xff} << 40) | ((i + 1) & ((std::uint64_t{1} << 40) - 1));
  Ipv6Addr a = prefix.addr;
  for (int k = 0; k < 8; ++k) {
    unsigned byte = 15 - static_cast<unsigned>(k);
    auto v = static_cast<std::uint8_t>(host >> (8 * k));
    // Keep the prefix bits of this byte, take the host bits from `host`.
    unsigned first_bit = byte * 8;
    std::uint8_t keep = 0;
    if (prefix.len >= first_bit + 8)
      keep = 0xff;
    else if (prefix.len > first_bit)
      keep = static_cast<std::uint8_t>(0xff << (8 - (prefix.len - first_bit)));
    a.b[byte] = static_cast<std::uint8_t>((a.b[byte] & keep) | (v & ~keep));
  }
  return a;
}

Datagram make_datagram(const AttackConfig& c, std::uint64_t i, std::span<std::uint8_t> buf) {
  switch (c.mode) {
    case Mode::kFlood: {
      std::uint64_t k = c.mns ? i % c.mns : i;
      Ipv6Addr src = nth_source(c.prefix, c.run, k);
      std::size_t n = data_packet(buf, c, c.payload, src, c.home_agent, i);
      return {source_of(c, k), buf.first(n), Drop::kCount};
    }
    case Mode::kPorts: {
      Ipv6Addr src = nth_source(c.prefix, c.run, i);
      std::size_t n = data_packet(buf, c, c.payload, src, c.home_agent, i);
      Endpoint4 from{c.from_net, static_cast<std::uint16_t>(kFirstPort + i % kPortCount)};
      return {from, buf.first(n), Drop::kRateLimited};
    }
    case Mode::kHijack: {
      Ipv6Addr victim = c.victim.value_or(nth_source(c.prefix, c.run, 0));
      std::size_t n = i % 2 == 0 ? data_packet(buf, c, c.payload, victim, c.home_agent, i)
                                 : keepalive(buf, victim);
      Endpoint4 from = c.victim_nat && (i / 2) % 2 == 1 ? victim_nat_other_port(*c.victim_nat, i)
                                                        : source_of(c, i);
      return {from, buf.first(n), Drop::kBindingMismatch};
    }
    case Mode::kKeepalive: {
      std::uint64_t kinds = c.victim ? 4 : 3;
      std::uint64_t k = i / kinds;
      Endpoint4 from = source_of(c, k);
      Ipv6Addr mn = nth_source(c.prefix, c.run, k);
      switch (i % kinds) {
        case 0:  // creates a temporary state (the home agent answers nothing)
          return {from, buf.first(data_packet(buf, c, Payload::kNone, mn, c.home_agent, i)),
                  Drop::kCount};
        case 1:  // §2.3: only an active state is answered
          return {from, buf.first(keepalive(buf, mn)), Drop::kKeepaliveNotActive};
        case 2: {  // §2.3: no state at all
          Ipv6Addr unknown = nth_source(c.prefix, c.run, k + (std::uint64_t{1} << 39));
          return {from, buf.first(keepalive(buf, unknown)), Drop::kKeepaliveNoState};
        }
        default:  // the victim's state, from another binding
          return {from, buf.first(keepalive(buf, *c.victim)), Drop::kBindingMismatch};
      }
    }
    case Mode::kNonHa: {
      Ipv6Addr src = nth_source(c.prefix, c.run, i);
      Ipv6Addr dst = not_home_agent(c, i);
      std::size_t len = std::max<std::uint32_t>(c.data_len, 8);
      std::size_t n = header(buf, src, dst, len, wire::kNextHeaderNone);
      std::memset(buf.data() + wire::kIpv6HeaderLen, 0, len);
      return {source_of(c, i), buf.first(n), Drop::kDstNotHomeAgent};
    }
    case Mode::kMalformed:
    case Mode::kCount:
      break;
  }
  return malformed(c, i, buf);
}

}  // namespace m6t::attack
