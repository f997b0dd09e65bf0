#include "app/preflight.h"

#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "app/least_privilege.h"
#include "os/fs.h"

namespace m6t::app {

namespace {

os::OsStatus common(const std::string& user, const std::string& control,
                    os::Privileges& privileges) {
  if (auto ids = lookup_user(privileges, user); !ids) return os::OsError{ids.error()};
  return control_dir_ready(control, false);
}

}  // namespace

os::OsStatus control_dir_ready(const std::string& control, bool create) {
  const std::string dir = parent_dir(control);
  if (dir_exists(dir)) return os::Ok{};
  if (dir == kControlDir) {
    if (!create) return os::Ok{};
    if (auto st = os::make_dirs(dir); !st)
      return os::OsError{"--control " + control + ": " + st.error()};
    return os::Ok{};
  }
  return os::OsError{"--control " + control + ": directory " + dir + " does not exist"};
}

os::OsStatus preflight(const GatewaySettings& s, os::Privileges& privileges) {
  return common(s.user, s.control, privileges);
}

os::OsStatus preflight(const ClientSettings& s, os::Privileges& privileges) {
  if (auto st = common(s.user, s.control, privileges); !st) return st;
  if (!s.hook.empty() && ::access(s.hook.c_str(), X_OK) < 0)
    return os::OsError{"--hook " + s.hook + ": " + std::strerror(errno)};
  if (!s.uplink.empty() && ::if_nametoindex(s.uplink.c_str()) == 0)
    return os::OsError{"--uplink " + s.uplink + ": " + std::strerror(errno)};
  return os::Ok{};
}

}  // namespace m6t::app
