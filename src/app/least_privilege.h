// Least privilege: what each daemon keeps once it is set up, and the one
// place where it gives up the rest.
//
// Decision (the draft is silent): without --user a daemon stays root, as OpenVPN
// and wg-quick do, so that a host without a dedicated account works out of the box; with
// `--user NAME` (recommended: a system account such as `m6t`) it becomes that user after
// its TUN device, sockets, netlink sockets, signal handling and control socket exist:
//  - the gateway keeps no capability (CAP_NET_ADMIN only with --announce, to withdraw its
//    announced routes before it drains): after setup it only moves packets between descriptors
//    it already holds; on exit its TUN device (not persistent) disappears when closed, and
//    the MN-prefix route with it, so nothing needs a capability then either;
//  - the client keeps CAP_NET_ADMIN, for the tunnel address and routes it installs at every
//    attachment and removes on exit (§3), and CAP_NET_RAW only when --uplink is given on a
//    kernel older than 5.7 (SO_BINDTODEVICE on the per-attachment socket needed it then).
// Files the daemon must still create or remove after the drop live in directories the user
// must be able to write: the control socket's directory and the client's claims directory
// are given to the user (chown) when the daemon created them at this start, or when they are
// the default ones under /run/m6t. A control socket in another directory stays behind at
// exit (the next start replaces a stale socket); a claims directory the user cannot write
// fails the start, since no 48-bit value could then be claimed (§2.5).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/logger.h"
#include "os/privileges.h"

namespace m6t::app {

// A directory the daemon writes after the drop, and whether it existed before the daemon
// started (see above).
struct OwnedDir {
  std::string path;
  bool existed_before = true;
  bool required = false;  // the daemon cannot work unless the user can write it
};

// The parent directory of a file path ("/run/m6t" for "/run/m6t/x.sock", "." for "x").
std::string parent_dir(const std::string& path);
bool dir_exists(const std::string& path);

// The ids of `--user NAME`, looked up before anything is installed so that an unknown user
// fails the start with nothing to undo; nullopt without --user. The error names the option.
os::OsResult<std::optional<os::UserIds>> lookup_user(os::Privileges& privileges,
                                                     const std::string& name);

// With --announce the gateway keeps CAP_NET_ADMIN: its announced routes are withdrawn at the
// stop, before the drain (closing the TUN device would only take them away at the very end).
std::vector<os::Capability> gateway_keeps(bool announces = false);
std::vector<os::Capability> client_keeps(bool binds_to_device, bool kernel_allows_bindtodevice);

// Gives the directories to the user as decided above, then drops. An error names what went
// wrong ("--user m6t: ..."); the daemon then exits like any failed start.
os::OsStatus become_user(os::Privileges& privileges, const os::UserIds& user,
                         const std::vector<OwnedDir>& dirs, const std::vector<os::Capability>& keep,
                         const Logger& log);

}  // namespace m6t::app
