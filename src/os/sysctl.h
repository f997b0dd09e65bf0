// Reading kernel settings of the daemon's network namespace (/proc/sys).
#pragma once

#include <string>

#include "os/result.h"

namespace m6t::os {

// The value of a sysctl such as "net.ipv6.conf.all.forwarding", trailing newline removed.
OsResult<std::string> read_sysctl(const std::string& name);

}  // namespace m6t::os
