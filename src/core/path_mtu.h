// The MTU of one tunnel path (§2.6): the gateway keeps one per MN state, the client one for its
// tunnel. By default it is the configured MTU and the outer DF bit is clear, so that IPv4
// routers on a smaller link fragment ("SHOULD NOT set the DF bit"). In path-MTU mode
// the DF bit is set and ICMPv4 "fragmentation needed" lowers the path's MTU: §2.6 "Reception
// of ICMP Packet too big messages from IPv4 routers on the path may be used to locally update the
// MTU".
//
// Decisions (the draft is silent on them):
// - Never below 1280, IPv6's minimum (RFC 8200 §5): a path whose IPv4 next hop cannot carry a
//   1280-byte IPv6 packet plus the 28 bytes of encapsulation goes back to fragmentation for
//   that path only (MTU 1280, DF clear): the smallest packets IPv6 must carry then cross in two
//   IPv4 fragments rather than not at all.
// - A learned value only ever lowers the MTU. A report at or above the current MTU is stale (an
//   earlier packet's) or forged, and is ignored.
// - Learned values age out after `age` (RFC 8201 §4, RFC 1191 §6.3: ten minutes) and the path
//   goes back to the configured MTU with DF set again: the next large packet probes upward, and
//   a path still narrow answers with another ICMP error.
// - A report of next-hop MTU 0 comes from a router older than RFC 1191; RFC 1191 §5's plateau
//   below the quoted datagram's length is taken instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/address.h"
#include "core/ipv6_packet.h"
#include "core/result.h"
#include "core/time.h"
#include "core/wire.h"

namespace m6t::core {

// How the current MTU of a path came about, as `m6t show` reports it.
enum class MtuSource : std::uint8_t {
  kConfigured,  // --mtu (default 1472), nothing learned yet
  kIcmp,        // lowered by an ICMPv4 "fragmentation needed"
  kAged,        // a learned value aged out: back to the configured MTU, probing upward
};
std::string_view to_string(MtuSource s);

enum class PmtuUpdate : std::uint8_t {
  kLowered,      // the path's MTU went down to the reported value
  kFragmenting,  // the reported value is below 1280: MTU 1280 and DF clear for this path
  kNotLower,     // at or above the current MTU: ignored
  kDisabled,     // not in path-MTU mode: ignored
};
std::string_view to_string(PmtuUpdate u);

struct PathMtuConfig {
  std::uint32_t configured = wire::kDefaultMtu;
  bool discovery = false;  // --pmtu-discovery
  Duration age = wire::kDefaultPmtuAge;
};

struct PathMtu {
  std::uint32_t mtu = wire::kDefaultMtu;  // the largest IPv6 packet sent along this path
  MtuSource source = MtuSource::kConfigured;
  bool df = false;  // the outer IPv4 DF bit of this path's datagrams
  Time expires{};   // when source is kIcmp: the learned value ages out then

  static PathMtu initial(const PathMtuConfig& c);
  bool learned() const { return source == MtuSource::kIcmp; }
  Deadline next_deadline() const;
  // Ages a learned value out when due; true when it did.
  bool expire(const PathMtuConfig& c, Time now);
  // An ICMPv4 "fragmentation needed" for a datagram of this path. `quoted_len` is the length of
  // the IPv6 packet the datagram carried (used only when next_hop_mtu is 0).
  PmtuUpdate on_frag_needed(const PathMtuConfig& c, std::uint32_t next_hop_mtu,
                            std::size_t quoted_len, Time now);
};

// The largest IPv6 packet an IPv4 next hop of this MTU carries unfragmented (0 if none).
std::uint32_t tunnel_mtu_for(std::uint32_t next_hop_mtu);
// RFC 1191 §5: the largest plateau below `outer_len` (68 at least).
std::uint32_t plateau_below(std::size_t outer_len);

// The start of one of our datagrams as an ICMPv4 error quotes it (the UDP payload: the IPv6
// packet the tunnel carried). Routers quote at least 8 bytes past the IPv4 header (RFC 792),
// most as much as fits in 576 bytes (RFC 1812 §4.3.2.3).
struct QuotedPacket {
  Ipv6View head;                 // the quoted bytes: the IPv6 header and what follows
  std::size_t original_len = 0;  // 40 + payload length: the packet's whole length
};
// kTruncated: less than an IPv6 header quoted (an RFC 792 minimal quote), so the packet cannot
// be attributed; kBadVersion: not an IPv6 packet, so not a datagram of ours.
Result<QuotedPacket> decode_quoted_ipv6(std::span<const std::uint8_t> quote);

// What a UDP socket's error queue (IP_RECVERR) said about one of our datagrams.
struct FragNeeded {
  std::uint16_t listener = 0;  // gateway: the socket that sent the datagram
  Endpoint4 remote;            // the datagram's destination
  std::uint32_t next_hop_mtu = 0;
  std::span<const std::uint8_t> quote;  // the datagram's payload as quoted
};

// Outcome counters of ICMPv4 errors, per engine.
struct PmtuCounters {
  std::uint64_t frag_needed = 0;   // reports received
  std::uint64_t lowered = 0;       // PmtuUpdate::kLowered
  std::uint64_t fragmenting = 0;   // PmtuUpdate::kFragmenting
  std::uint64_t not_lower = 0;     // PmtuUpdate::kNotLower
  std::uint64_t unattributed = 0;  // no matching path (short quote, unknown state, mismatch)
  std::uint64_t aged = 0;          // learned values aged out

  void count(PmtuUpdate u) {
    switch (u) {
      case PmtuUpdate::kLowered:
        ++lowered;
        break;
      case PmtuUpdate::kFragmenting:
        ++fragmenting;
        break;
      case PmtuUpdate::kNotLower:
      case PmtuUpdate::kDisabled:
        ++not_lower;
        break;
    }
  }
};

}  // namespace m6t::core
