// What a daemon checks before it installs anything, so that a bad setting fails the start
// with one line and nothing to undo; `m6t check-config` runs the same checks.
#pragma once

#include "app/settings.h"
#include "os/privileges.h"
#include "os/result.h"

namespace m6t::app {

// The --user exists; the control socket's directory exists (the default /run/m6t excepted:
// the daemon creates that one, as systemd's RuntimeDirectory= would).
os::OsStatus preflight(const GatewaySettings& s, os::Privileges& privileges);
// The same, and: the hook is an executable file, the --uplink interface exists.
os::OsStatus preflight(const ClientSettings& s, os::Privileges& privileges);

// The directory a control socket lives in: created when it is the default one, otherwise it
// must exist ("--control /x/y.sock: directory /x does not exist").
os::OsStatus control_dir_ready(const std::string& control, bool create);

}  // namespace m6t::app
