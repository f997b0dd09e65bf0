// rtnetlink through libmnl: link, address and route configuration, and a monitor of IPv4
// addresses and default routes (the MN's attachment, §3). No shelling out to `ip`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "os/result.h"

namespace m6t::os {

// A route in a routing table of the daemon's own, through its device, for a routing daemon to
// learn and announce (the gateway's --announce): an IPv4 /32 service address or an IPv6 slice
// of the MN prefix. No metric (the table holds nothing else).
struct TableRoute {
  std::uint32_t table = 0;
  bool ipv4 = false;
  core::Ipv4Addr v4;  // when ipv4: a /32
  core::Ipv6Prefix v6;
  std::string to_string() const;
};

// What the daemons change. Every call is synchronous (waits for the kernel's ACK); errors
// carry the kernel's reason, e.g. "del route fd00::/48 dev m6t0 metric 1024: No such process".
// Adds are idempotent: adding an address or route that is already there succeeds.
class NetConfig {
 public:
  virtual ~NetConfig() = default;
  virtual OsResult<int> ifindex(const std::string& name) = 0;
  virtual OsStatus set_mtu(int ifindex, std::uint32_t mtu) = 0;
  virtual OsStatus set_up(int ifindex) = 0;
  // Before set_up on a TUN device: no IPv6 link-local address (addr_gen_mode none) and no
  // multicast. Nothing on the other side of the tunnel speaks ND, MLD or router discovery, and
  // the host's chatter would only cross the tunnel to be dropped.
  virtual OsStatus make_point_to_point_quiet(int ifindex) = 0;
  // IFA_F_NODAD: the tunnel address is unique by construction (§2.2), and DAD on a
  // point-to-point TUN would only delay the first packet by a second.
  virtual OsStatus add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) = 0;
  virtual OsStatus del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) = 0;
  // A route to `dst` through the device (no next hop: point-to-point), with a metric, in the
  // main table (proto static). A route to the same prefix and metric through another device
  // is left alone: both then coexist. A non-empty `src` makes it a source-specific route
  // (only for packets from `src`).
  virtual OsStatus add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                             const core::Ipv6Prefix& src = {}) = 0;
  virtual OsStatus del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                             const core::Ipv6Prefix& src = {}) = 0;
  // Idempotent like add_route; the kernel removes them with the device.
  virtual OsStatus add_table_route(int ifindex, const TableRoute& r) = 0;
  virtual OsStatus del_table_route(int ifindex, const TableRoute& r) = 0;
};

OsResult<std::unique_ptr<NetConfig>> open_netconfig();

// IPv4 state of the host, as a snapshot.
struct Ipv4Address {
  int ifindex = 0;
  core::Ipv4Addr addr;
  unsigned prefix_len = 0;
};
struct Ipv4DefaultRoute {
  int ifindex = 0;
  core::Ipv4Addr gateway;  // 0.0.0.0 when on-link
  std::uint32_t metric = 0;
};
struct Ipv4Snapshot {
  std::vector<Ipv4Address> addresses;
  std::vector<Ipv4DefaultRoute> default_routes;  // main table only
};

// Subscribed to RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_LINK. The owner polls fd();
// on readability it calls drain(), and when that says something changed, dump().
class Ipv4Monitor {
 public:
  virtual ~Ipv4Monitor() = default;
  virtual int fd() const = 0;
  // Reads pending notifications; true when any may have changed the IPv4 snapshot
  // (including overruns, ENOBUFS, after which a dump is the only safe answer).
  virtual bool drain() = 0;
  virtual OsResult<Ipv4Snapshot> dump() = 0;
};

OsResult<std::unique_ptr<Ipv4Monitor>> open_ipv4_monitor();

// What the monitor and the dumps make of the kernel's messages, for the fuzz target
// (fuzz/fuzz_netlink.cc) and tests: every RTM_NEWADDR/RTM_NEWROUTE in `buf` (a stream of
// netlink messages, 4-byte aligned) adds to `out` as a dump would; `affects_snapshot` is what
// drain() would say; `extack` the last NLMSG_ERROR's NETLINK_EXT_ACK message. Never reads
// outside `buf`, whatever it holds.
struct NetlinkParse {
  std::size_t messages = 0;
  bool affects_snapshot = false;
  std::string extack;
};
NetlinkParse parse_netlink_messages(std::span<const std::uint8_t> buf, Ipv4Snapshot& out);

}  // namespace m6t::os
