// Every wire layout and protocol constant of m6t, in one place.
//
// m6t carries plain IPv6 packets as the payload of IPv4/UDP datagrams: there is no m6t header
// of its own (draft-ebalard-mext-m6t §2). What the protocol defines on the wire is therefore
// the keepalive (§2.3), the addressing plan (§2.2) and the MTU defaults (§2.6); the IPv6 and
// ICMPv6 layouts below are those of RFC 8200 and RFC 4443.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace m6t::wire {

using namespace std::chrono_literals;

// --- IPv6 header (RFC 8200 §3) -----------------------------------------------------------
inline constexpr std::size_t kIpv6HeaderLen = 40;
inline constexpr std::size_t kIpv6VersionOffset = 0;  // high nibble of byte 0
inline constexpr std::size_t kIpv6PayloadLenOffset = 4;
inline constexpr std::size_t kIpv6NextHeaderOffset = 6;
inline constexpr std::size_t kIpv6HopLimitOffset = 7;
inline constexpr std::size_t kIpv6SrcOffset = 8;
inline constexpr std::size_t kIpv6DstOffset = 24;
inline constexpr std::size_t kIpv6AddrLen = 16;
inline constexpr std::uint8_t kIpv6Version = 6;

inline constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
inline constexpr std::uint8_t kNextHeaderNone = 59;

// --- Keepalive (§2.3) ----------------------------------------------------------------------
// An IPv6 header alone: next header 59 ("no next header"), payload length 0, destination
// fe80::1 from the MN; the gateway's answer swaps source and destination.
inline constexpr std::size_t kKeepaliveLen = kIpv6HeaderLen;
inline constexpr std::uint8_t kKeepaliveDst[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                                   0,    0,    0, 0, 0, 0, 0, 1};
// The draft leaves the hop limit open; 255 is what link-scoped control traffic uses
// (RFC 4861) and fe80::1 is link-scoped, so a keepalive never leaves the tunnel.
inline constexpr std::uint8_t kKeepaliveHopLimit = 255;
// §2.3: "default refresh interval borrowed from Teredo specification".
inline constexpr auto kDefaultKeepaliveInterval = 30s;

// --- ICMPv6 (RFC 4443) -----------------------------------------------------------------------
inline constexpr std::size_t kIcmpv6HeaderLen = 8;  // type, code, checksum, 32-bit field
inline constexpr std::uint8_t kIcmpv6PacketTooBig = 2;
// RFC 4443 §2.4(c): an ICMPv6 error must not exceed the minimum IPv6 MTU.
inline constexpr std::size_t kIcmpv6ErrorMaxLen = 1280;

// --- UDP and IPv4 overhead ---------------------------------------------------------------------
inline constexpr std::size_t kIpv4HeaderLen = 20;
inline constexpr std::size_t kUdpHeaderLen = 8;
inline constexpr std::size_t kEncapOverhead = kIpv4HeaderLen + kUdpHeaderLen;

// --- MTU (§2.6) ------------------------------------------------------------------------------
// §2.6: "initially set to a default value of 1472 bytes on both sides". 1472 + 28 = 1500, the
// Ethernet MTU of the IPv4 path.
inline constexpr std::uint32_t kDefaultMtu = 1472;
inline constexpr std::uint32_t kMinIpv6Mtu = 1280;  // RFC 8200 §5
// The largest IPv6 packet a UDP/IPv4 datagram can carry (65535 - 20 - 8).
inline constexpr std::uint32_t kMaxMtu = 65535 - kEncapOverhead;
// Path-MTU mode: a value learned from an ICMPv4 "fragmentation needed" is kept this
// long, then the path is probed upward again from the configured MTU. RFC 8201 §4 (and RFC 1191
// §6.3, which §2.6's IPv4 side follows) suggest ten minutes.
inline constexpr auto kDefaultPmtuAge = 600s;
// ICMPv4 (RFC 792) destination unreachable, code 4: fragmentation needed and DF set; its
// "next-hop MTU" field is RFC 1191 §4's.
inline constexpr std::uint8_t kIcmpv4DestUnreachable = 3;
inline constexpr std::uint8_t kIcmpv4FragNeeded = 4;
// Buffers are sized for the largest datagram so that no input can overrun them.
inline constexpr std::size_t kMaxDatagram = 65535;

// --- Addressing (§2.2) -------------------------------------------------------------------------
//   | /48 ULA prefix | 16 bits subnet ID | 16 bits MN ID | 48 bits random value |
inline constexpr unsigned kUlaPrefixLen = 48;
inline constexpr unsigned kMnPrefixLen = 80;
inline constexpr unsigned kRandomBits = 48;
inline constexpr std::uint8_t kUlaFirstByte = 0xfd;  // RFC 4193 §3.1: FC00::/7 with L = 1

// --- Gateway defaults (§2.4, §6.1.3) -------------------------------------------------------
// §2.4: a temporary state lives "some milli-seconds to a few seconds"; §6.1.3 asks for it to
// match the HA's processing time plus the GW-HA round trip. One second covers an IKE_SA_INIT
// answer from a loaded HA.
inline constexpr auto kDefaultTempLifetime = 1000ms;
// §6.1.3: an active state goes when no traffic was seen "for more than the expected NAT GW
// timeout". Three keepalive intervals: one lost keepalive must not kill a binding.
inline constexpr auto kDefaultActiveLifetime = 90s;
// The largest --max-states (and so the most states a saved file of ours can hold).
inline constexpr std::uint32_t kMaxStatesLimit = 16'000'000;

// --- Saved gateway states (core/state_file.h) --------------------------------------------------
inline constexpr std::uint8_t kStateFileMagic[8] = {'M', '6', 'T', 'S', 'T', 'A', 'T', 'E'};
inline constexpr std::uint16_t kStateFileVersion = 1;
inline constexpr std::size_t kStateFileHeaderLen = 32;
inline constexpr std::size_t kStateFileRecordLen = 48;
inline constexpr std::size_t kStateFileTrailerLen = 8;
// The checksum's key: fixed, so any build reads any file; "m6t-state-file-1" in ASCII.
inline constexpr std::uint64_t kStateFileKey0 = 0x6d36742d73746174;
inline constexpr std::uint64_t kStateFileKey1 = 0x652d66696c652d31;
// How often the gateway saves its active states (and at every stop): a crash loses at most the
// states activated since, which rebuild themselves at their MN's next packet anyway (§3).
inline constexpr auto kDefaultStateSaveInterval = 5s;

}  // namespace m6t::wire
