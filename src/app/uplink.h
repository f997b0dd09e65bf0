// Which IPv4 attachment the MN has (§3: "When a MN gets IPv4 connectivity (IPv4 address and
// route)"), from the kernel's addresses and default routes.
#pragma once

#include <optional>

#include "core/client_engine.h"
#include "os/netlink.h"

namespace m6t::app {

// With `ifindex` (--uplink): connected when that interface has an IPv4 address and a default
// route through it. Without: the default route of lowest metric, and an address of its
// interface. The first address the kernel lists on the interface (its primary) is the one.
core::Uplink select_uplink(const os::Ipv4Snapshot& snapshot, std::optional<int> ifindex);

}  // namespace m6t::app
