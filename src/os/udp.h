// Non-blocking, batched UDP/IPv4 sockets (recvmmsg/sendmmsg).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "os/packet_buffer.h"
#include "os/result.h"

namespace m6t::os {

struct UdpOptions {
  core::Endpoint4 bind;                    // 0.0.0.0 = wildcard; port 0 = ephemeral
  std::optional<core::Endpoint4> connect;  // client: only this peer, send() without address
  std::string device;                      // SO_BINDTODEVICE when not empty (§2.5 uplinks)
  // false: §2.6 "SHOULD NOT set the DF bit" -> IP_PMTUDISC_DONT.
  // true (path-MTU mode): IP_PMTUDISC_PROBE (DF set, the kernel's own PMTU cache
  // ignored: the engines keep their own per-path value) and IP_RECVERR to learn from ICMP.
  bool pmtu_discovery = false;
  int rcvbuf = 4 << 20;  // SO_RCVBUF (best effort; SO_RCVBUFFORCE tried first as root)
  int sndbuf = 4 << 20;
};

// A datagram to send: from `local.addr` (IP_PKTINFO, when the socket is bound to the
// wildcard address and local.addr is not 0.0.0.0) to `remote` (ignored when connected).
// `df` matters in path-MTU mode only (the socket then switches between IP_PMTUDISC_PROBE and
// IP_PMTUDISC_DONT for runs of items that differ); otherwise DF is never set (§2.6).
struct SendItem {
  std::span<const std::uint8_t> data;
  core::Endpoint4 remote;
  core::Endpoint4 local;
  bool df = false;
};

// An ICMP error the kernel queued for this socket (IP_RECVERR), e.g. fragmentation needed.
struct IcmpError {
  core::Endpoint4 remote;  // the datagram's destination
  std::uint8_t type = 0;   // ICMP type/code (3/4: fragmentation needed); 0/0 for a local
                           // error (EMSGSIZE with the device MTU in info, DF set)
  std::uint8_t code = 0;
  std::uint32_t info = 0;  // next-hop MTU for fragmentation needed
  int err = 0;             // errno equivalent (EMSGSIZE, ECONNREFUSED, ...)
  // The offending datagram's payload as the error quoted it (at most kMaxQuote bytes): for m6t
  // the start of the IPv6 packet the tunnel carried, which tells whose it was.
  std::vector<std::uint8_t> quote{};
  static constexpr std::size_t kMaxQuote = 1232;  // a Packet Too Big quotes no more
  // ICMPv4 fragmentation needed, or the local EMSGSIZE the kernel queues when DF is set and the
  // device itself is smaller: either way `info` is the MTU the datagram met.
  bool frag_needed() const;
};

class UdpSocket {
 public:
  virtual ~UdpSocket() = default;
  virtual int fd() const = 0;
  virtual core::Endpoint4 local_endpoint() const = 0;  // as bound (port resolved)
  // Fills slots with received datagrams (remote, local from IP_PKTINFO, len, truncated).
  virtual std::size_t recv_batch(std::span<PacketSlot> slots) = 0;
  // Sends as many as the kernel takes; returns how many were sent (rest dropped by caller).
  // An item the kernel refuses on its own (EMSGSIZE, ECONNREFUSED, EPERM) is skipped and the
  // batch goes on; a full socket buffer (EAGAIN/ENOBUFS) ends it.
  virtual std::size_t send_batch(std::span<const SendItem> items) = 0;
  // Drains the error queue (IP_RECVERR); empty when none is pending. In path-MTU mode the fd
  // reports EPOLLERR while the queue holds anything, so the fd's handler must call this.
  virtual std::vector<IcmpError> read_errors() = 0;
};

OsResult<std::unique_ptr<UdpSocket>> open_udp(const UdpOptions& options);

}  // namespace m6t::os
