// The daemons' side of the kernel fast path (os/fastpath.h): whether to start it (--fast-path
// auto|on|off), where its programs go, and what `m6t show` says of it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/logger.h"
#include "app/settings.h"
#include "os/fastpath.h"
#include "os/netlink.h"

namespace m6t::app {

// The interfaces datagrams to the listening endpoints arrive on: those holding a listening
// address, or every interface with an IPv4 address for a wildcard one.
std::vector<int> listen_interfaces(const std::vector<core::Endpoint4>& listen,
                                   const os::Ipv4Snapshot& ipv4);

// What became of --fast-path at start, for the log and `m6t show`.
struct FastPathStatus {
  FastPathMode mode = FastPathMode::kAuto;
  bool active = false;
  std::string reason;  // why it is not active (auto), or empty
};

// Loads and attaches the programs when --fast-path asks; with `auto`, a failure leaves the
// user-space path alone and says why in the log. A failure with `on` is an error: the
// daemon does not start.
os::OsResult<std::unique_ptr<os::GatewayFastPath>> start_gateway_fast_path(const GatewaySettings& s,
                                                                           int tun_ifindex,
                                                                           const Logger& log,
                                                                           FastPathStatus& status);
os::OsResult<std::unique_ptr<os::ClientFastPath>> start_client_fast_path(const ClientSettings& s,
                                                                         int tun_ifindex,
                                                                         const Logger& log,
                                                                         FastPathStatus& status);

// "fast_path" of `m6t show --json`: the mode, whether it runs, and per-CPU counters.
nlohmann::json fast_path_json(const FastPathStatus& status, const os::FastPathCounters* counters,
                              const std::string& attach_mode);

}  // namespace m6t::app
