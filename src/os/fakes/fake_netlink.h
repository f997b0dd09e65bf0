// rtnetlink fakes for tests and fuzz targets only (never part of the m6t binary).
#pragma once

#include <string>
#include <vector>

#include "os/netlink.h"

namespace m6t::os {

// Records every call (the failing one included), e.g. "ifindex m6t0", "set_mtu 42 1472",
// "set_up 42", "add_address 42 fd00::1/80", "del_address 42 fd00::1/80",
// "add_route 42 ::/0 metric 1024", "del_route 42 ::/0 from fd00::1/128 metric 1024"; fails on
// demand.
class FakeNetConfig final : public NetConfig {
 public:
  OsResult<int> ifindex(const std::string& name) override;
  OsStatus set_mtu(int ifindex, std::uint32_t mtu) override;
  OsStatus set_up(int ifindex) override;
  OsStatus make_point_to_point_quiet(int ifindex) override;
  OsStatus add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override;
  OsStatus del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override;
  OsStatus add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                     const core::Ipv6Prefix& src = {}) override;
  OsStatus del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                     const core::Ipv6Prefix& src = {}) override;
  // "add_table_route 42 203.0.113.10/32 table 100"
  OsStatus add_table_route(int ifindex, const TableRoute& r) override;
  OsStatus del_table_route(int ifindex, const TableRoute& r) override;

  std::vector<std::string> calls;
  bool fail_next = false;   // the next call fails (then resets)
  int ifindex_result = 42;  // what ifindex() answers for any name
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
