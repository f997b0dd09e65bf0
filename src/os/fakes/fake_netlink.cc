#include "os/fakes/fake_netlink.h"

#include <utility>

namespace m6t::os {

namespace {

OsError injected(const std::string& call) {
  return OsError{call + ": injected failure"};
}

OsStatus record(FakeNetConfig& f, std::string call) {
  f.calls.push_back(call);
  if (std::exchange(f.fail_next, false)) return injected(call);
  return Ok{};
}

std::string address_text(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) {
  return std::to_string(ifindex) + " " + addr.to_string() + "/" + std::to_string(prefix_len);
}

std::string route_text(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                       const core::Ipv6Prefix& src) {
  return std::to_string(ifindex) + " " + dst.to_string() +
         (src.len ? " from " + src.to_string() : std::string()) + " metric " +
         std::to_string(metric);
}

}  // namespace

OsResult<int> FakeNetConfig::ifindex(const std::string& name) {
  auto status = record(*this, "ifindex " + name);
  if (!status) return OsError{status.error()};
  return ifindex_result;
}

OsStatus FakeNetConfig::set_mtu(int ifindex, std::uint32_t mtu) {
  return record(*this, "set_mtu " + std::to_string(ifindex) + " " + std::to_string(mtu));
}

OsStatus FakeNetConfig::make_point_to_point_quiet(int ifindex) {
  return record(*this, "make_point_to_point_quiet " + std::to_string(ifindex));
}

OsStatus FakeNetConfig::set_up(int ifindex) {
  return record(*this, "set_up " + std::to_string(ifindex));
}

OsStatus FakeNetConfig::add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) {
  return record(*this, "add_address " + address_text(ifindex, addr, prefix_len));
}

OsStatus FakeNetConfig::del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) {
  return record(*this, "del_address " + address_text(ifindex, addr, prefix_len));
}

OsStatus FakeNetConfig::add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                                  const core::Ipv6Prefix& src) {
  return record(*this, "add_route " + route_text(ifindex, dst, metric, src));
}

OsStatus FakeNetConfig::del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                                  const core::Ipv6Prefix& src) {
  return record(*this, "del_route " + route_text(ifindex, dst, metric, src));
}

OsStatus FakeNetConfig::add_table_route(int ifindex, const TableRoute& r) {
  return record(*this, "add_table_route " + std::to_string(ifindex) + " " + r.to_string());
}

OsStatus FakeNetConfig::del_table_route(int ifindex, const TableRoute& r) {
  return record(*this, "del_table_route " + std::to_string(ifindex) + " " + r.to_string());
}

bool FakeIpv4Monitor::drain() {
  return std::exchange(changed_, false);
}

}  // namespace m6t::os
