#include "app/least_privilege.h"

#include <sys/stat.h>
#include <unistd.h>

#include "app/settings.h"

namespace m6t::app {

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool dir_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

os::OsResult<std::optional<os::UserIds>> lookup_user(os::Privileges& privileges,
                                                     const std::string& name) {
  if (name.empty()) return std::optional<os::UserIds>{};
  auto ids = privileges.lookup(name);
  if (!ids) return os::OsError{"--user " + name + ": " + ids.error()};
  return std::optional<os::UserIds>{*ids};
}

std::vector<os::Capability> gateway_keeps(bool announces) {
  if (announces) return {os::Capability::kNetAdmin};
  return {};
}

std::vector<os::Capability> client_keeps(bool binds_to_device, bool kernel_allows_bindtodevice) {
  std::vector<os::Capability> keep{os::Capability::kNetAdmin};
  if (binds_to_device && !kernel_allows_bindtodevice) keep.push_back(os::Capability::kNetRaw);
  return keep;
}

namespace {

bool is_default_dir(const std::string& dir) {
  const std::string base = kControlDir;
  return dir == base || dir == base + "/claims" || dir == kStateDir;
}

}  // namespace

os::OsStatus become_user(os::Privileges& privileges, const os::UserIds& user,
                         const std::vector<OwnedDir>& dirs, const std::vector<os::Capability>& keep,
                         const Logger& log) {
  const std::string who = "--user " + user.name + ": ";
  std::vector<const OwnedDir*> not_given;
  for (const auto& d : dirs) {
    if (!d.existed_before || is_default_dir(d.path)) {
      if (auto st = privileges.give_dir(d.path, user); !st) return os::OsError{who + st.error()};
    } else {
      not_given.push_back(&d);
    }
  }
  if (auto st = privileges.drop(user, keep); !st) return os::OsError{who + st.error()};
  // Now with the user's credentials: can it still write where it must?
  for (const OwnedDir* d : not_given) {
    if (::access(d->path.c_str(), W_OK | X_OK) == 0) continue;
    if (d->required)
      return os::OsError{who + d->path +
                         " is not writable by this user (make it so, or use a "
                         "directory m6t creates)"};
    log.warn(who, d->path, " is not writable by this user: files there stay after exit");
  }
  std::string kept;
  for (auto c : keep)
    kept += " " + os::to_string(c);
  log.info("running as user ", user.name, " (uid ", user.uid, ", gid ", user.gid,
           "), capabilities:", kept.empty() ? " none" : kept);
  return os::Ok{};
}

}  // namespace m6t::app
