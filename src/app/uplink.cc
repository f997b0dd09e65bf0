#include "app/uplink.h"

namespace m6t::app {

core::Uplink select_uplink(const os::Ipv4Snapshot& snapshot, std::optional<int> ifindex) {
  const os::Ipv4DefaultRoute* best = nullptr;
  for (const auto& r : snapshot.default_routes) {
    if (ifindex && r.ifindex != *ifindex) continue;
    if (!best || r.metric < best->metric) best = &r;
  }
  if (!best) return {};
  for (const auto& a : snapshot.addresses) {
    if (a.ifindex != best->ifindex) continue;
    // 127/8 and 169.254/16 cannot reach a gateway through a NAT.
    if (a.addr.value >> 24 == 127 || a.addr.value >> 16 == 0xa9fe) continue;
    return core::Uplink{true, a.addr, best->gateway, static_cast<std::uint32_t>(best->ifindex)};
  }
  return {};
}

}  // namespace m6t::app
