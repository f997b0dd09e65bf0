// The routes of the slices a gateway serves (--announce, settings.h Slice) in its announce
// table, for the host's routing daemon (BIRD) to learn and announce over BGP: each service
// address's /32 (once, however many slices share it) and each slice's part of the MN prefix,
// through the gateway's TUN device. Added once the gateway serves, withdrawn at its stop before
// the drain; a crash takes them away with the device.
#pragma once

#include <vector>

#include "app/logger.h"
#include "app/settings.h"
#include "os/netlink.h"

namespace m6t::app {

class Announcer {
 public:
  Announcer(os::NetConfig& net, int ifindex, const GatewaySettings& s, const Logger& log);
  const std::vector<os::TableRoute>& routes() const { return routes_; }
  os::OsStatus announce();
  // Idempotent: once announced, the routes go at the first call.
  void withdraw();

 private:
  os::NetConfig& net_;
  int ifindex_;
  const Logger& log_;
  std::vector<os::TableRoute> routes_;
  bool announced_ = false;
};

}  // namespace m6t::app
