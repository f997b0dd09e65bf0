#include "os/privileges.h"
#include "core/enum_names.h"

#include <cap-ng.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace m6t::os {

constexpr std::array<std::string_view, 2> kCapabilityNames = {"CAP_NET_ADMIN", "CAP_NET_RAW"};

std::string to_string(Capability c) {
  return std::string(core::name_of(kCapabilityNames, c));
}

namespace {

unsigned cap_number(Capability c) {
  return c == Capability::kNetAdmin ? CAP_NET_ADMIN : CAP_NET_RAW;
}

class CapngPrivileges final : public Privileges {
 public:
  OsResult<UserIds> lookup(const std::string& user) override {
    if (user.empty()) return OsError{"empty user name"};
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0) return errno_error("user '" + user + "'", rc);
    if (!found) return OsError{"no such user '" + user + "'"};
    return UserIds{user, pw.pw_uid, pw.pw_gid};
  }

  OsStatus give_dir(const std::string& dir, const UserIds& ids) override {
    if (::chown(dir.c_str(), ids.uid, ids.gid) < 0) return errno_error("chown " + dir);
    return Ok{};
  }

  OsStatus drop(const UserIds& ids, const std::vector<Capability>& keep) override {
    capng_clear(CAPNG_SELECT_ALL);
    for (Capability c : keep) {
      if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                       cap_number(c)) != 0)
        return OsError{"capng_update " + to_string(c) + " failed"};
    }
    // setgroups(0), setresgid, setresuid with PR_SET_KEEPCAPS, then the sets above applied;
    // the bounding set cleared (no execve can ever regain a capability).
    const int rc =
        capng_change_id(static_cast<int>(ids.uid), static_cast<int>(ids.gid),
                        static_cast<capng_flags_t>(CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING |
                                                   CAPNG_CLEAR_AMBIENT));
    if (rc != 0) {
      return OsError{"cannot become user '" + ids.name + "' (capng_change_id " +
                     std::to_string(rc) + "): " + std::strerror(errno)};
    }
    // Check rather than trust: the ids and the kept set are what we asked for.
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (::getresuid(&r, &e, &s) < 0 || r != ids.uid || e != ids.uid || s != ids.uid ||
        ::getresgid(&rg, &eg, &sg) < 0 || rg != ids.gid || eg != ids.gid || sg != ids.gid)
      return OsError{"user '" + ids.name + "': ids not changed"};
    capng_get_caps_process();
    for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
      bool wanted = false;
      for (Capability c : keep)
        wanted = wanted || cap_number(c) == cap;
      if (!wanted && (capng_have_capability(CAPNG_PERMITTED, cap) ||
                      capng_have_capability(CAPNG_EFFECTIVE, cap)))
        return OsError{"capability " + std::to_string(cap) + " still held after the drop"};
    }
    return Ok{};
  }
};

}  // namespace

std::unique_ptr<Privileges> make_privileges() {
  return std::make_unique<CapngPrivileges>();
}

bool kernel_allows_unprivileged_bindtodevice() {
  utsname u{};
  if (::uname(&u) < 0) return false;
  unsigned major = 0, minor = 0;
  if (std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 7);
}

OsResult<gid_t> lookup_group(const std::string& name) {
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0) return errno_error("group '" + name + "'", rc);
  if (!found) return OsError{"no such group '" + name + "'"};
  return gr.gr_gid;
}

}  // namespace m6t::os
