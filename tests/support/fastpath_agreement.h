// What the fast path's programs must agree on with the engines, for the differential test
// (tests/os/fastpath_test.cc) and the fuzz target (fuzz/fuzz_fastpath.cc): each check returns
// the first disagreement, or "" when the program did what the engine allows.
//
// - A packet the program forwards (TC_ACT_REDIRECT), the engine forwards too, the same way:
//   decapsulated, the bytes the engine writes to the TUN device; encapsulated, the bytes the
//   engine gives its socket, behind the outer headers of the engine's binding.
// - A packet the program leaves alone (TC_ACT_UNSPEC) is unchanged: the engine then sees
//   exactly what it would see without the fast path.
// - Nothing else: the program never drops a packet on its own (TC_ACT_SHOT only counts a
//   kernel helper's failure, which these inputs never cause).
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "core/verdict.h"
#include "os/fastpath.h"
#include "support/frames.h"

namespace m6t::testing {

inline constexpr int kFastPathLeave = -1;    // TC_ACT_UNSPEC
inline constexpr int kFastPathRedirect = 7;  // TC_ACT_REDIRECT

inline std::string left_alone(const os::FastPathRun& r, std::span<const std::uint8_t> frame) {
  if (r.verdict != kFastPathLeave) return "verdict " + std::to_string(r.verdict);
  if (!std::equal(r.frame.begin(), r.frame.end(), frame.begin(), frame.end()))
    return "a packet left alone was changed";
  return "";
}

// An ingress frame (Ethernet, IPv4, UDP, the IPv6 packet) against the engine's verdict on its
// datagram.
inline std::string decapsulation_agrees(const os::FastPathRun& r,
                                        std::span<const std::uint8_t> frame,
                                        const core::Verdict& engine) {
  if (r.verdict != kFastPathRedirect) return left_alone(r, frame);
  if (engine.action != core::Action::kToTun) return "forwarded what the engine does not";
  if (r.frame.size() < kEthLen || get16(r.frame, 12) != 0x86dd) return "not an IPv6 frame";
  if (!std::equal(r.frame.begin() + kEthLen, r.frame.end(), engine.packet.begin(),
                  engine.packet.end()))
    return "decapsulated bytes differ from the engine's";
  return "";
}

// A TUN-egress frame (Ethernet, the IPv6 packet) against the engine's verdict on the packet;
// `local` is the socket the user-space path would send from.
inline std::string encapsulation_agrees(const os::FastPathRun& r,
                                        std::span<const std::uint8_t> frame,
                                        std::span<const std::uint8_t> packet,
                                        const core::Verdict& engine, const core::Endpoint4& local) {
  if (r.verdict != kFastPathRedirect) return left_alone(r, frame);
  if (engine.action != core::Action::kToUdp) return "forwarded what the engine does not";
  const std::span<const std::uint8_t> f(r.frame);
  const std::size_t ip = kEthLen;
  if (f.size() != kEthLen + 28 + packet.size()) return "encapsulated length";
  if (get16(f, 12) != 0x0800 || f[ip] != 0x45) return "outer IPv4 header";
  if (get16(f, ip + 2) != 28 + packet.size()) return "outer total length";
  if (((get16(f, ip + 6) & 0x4000) != 0) != engine.df) return "DF differs from the path's (§2.6)";
  if ((get16(f, ip + 6) & 0x3fff) != 0 || f[ip + 9] != 17) return "outer flags or protocol";
  if (fold16(sum16(f.subspan(ip, 20))) != 0xffff) return "outer IPv4 header checksum";
  if (get32(f, ip + 12) != local.addr.value || get16(f, ip + 20) != local.port)
    return "not from the binding's local address and port";
  if (get32(f, ip + 16) != engine.to.remote.addr.value ||
      get16(f, ip + 22) != engine.to.remote.port)
    return "not to the binding's remote address and port";
  if (get16(f, ip + 24) != 8 + packet.size()) return "UDP length";
  if (get16(f, ip + 26) != 0) return "outer UDP checksum not zero";
  if (!std::equal(packet.begin(), packet.end(), f.begin() + ip + 28)) return "inner packet changed";
  if (!std::equal(engine.packet.begin(), engine.packet.end(), f.begin() + ip + 28,
                  f.begin() + ip + 28 + packet.size()))
    return "inner packet differs from the engine's";
  return "";
}

}  // namespace m6t::testing
