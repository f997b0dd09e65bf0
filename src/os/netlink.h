// rtnetlink through libmnl: link, address and route configuration, and a monitor of IPv4
// addresses and default routes (the MN's attachment, §3). No shelling out to `ip`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "os/result.h"

namespace m6t::os {

// What the daemons change. Every call is synchronous (waits for the kernel's ACK).
class NetConfig {
 public:
  virtual ~NetConfig() = default;
  virtual OsResult<int> ifindex(const std::string& name) = 0;
  virtual OsStatus set_mtu(int ifindex, std::uint32_t mtu) = 0;
  virtual OsStatus set_up(int ifindex) = 0;
  // IFA_F_NODAD: the tunnel address is unique by construction (§2.2), and DAD on a
  // point-to-point TUN would only delay the first packet by a second.
  virtual OsStatus add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) = 0;
  virtual OsStatus del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) = 0;
  // A route to `dst` through the device (no next hop: point-to-point), with a metric.
  virtual OsStatus add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric) = 0;
  virtual OsStatus del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric) = 0;
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

// Records every call; fails on demand.
class FakeNetConfig final : public NetConfig {
 public:
  OsResult<int> ifindex(const std::string& name) override;
  OsStatus set_mtu(int ifindex, std::uint32_t mtu) override;
  OsStatus set_up(int ifindex) override;
  OsStatus add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override;
  OsStatus del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override;
  OsStatus add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric) override;
  OsStatus del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric) override;

  std::vector<std::string> calls;  // e.g. "add_address 42 fd00::1/128"
  bool fail_next = false;          // the next call fails (then resets)
};

class FakeIpv4Monitor final : public Ipv4Monitor {
 public:
  int fd() const override { return -1; }
  bool drain() override;
  OsResult<Ipv4Snapshot> dump() override { return snapshot; }
  void set(Ipv4Snapshot s) {
    snapshot = std::move(s);
    changed_ = true;
  }
  Ipv4Snapshot snapshot;

 private:
  bool changed_ = false;
};

}  // namespace m6t::os
