// Least privilege: once its devices and sockets exist, a daemon started with
// `--user NAME` becomes that user and keeps only the capabilities it still uses. The gateway
// keeps none; the client keeps CAP_NET_ADMIN (tunnel addresses and routes, §3).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "os/result.h"

namespace m6t::os {

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // the user's primary group
};

// A group's id (--control-group).
OsResult<gid_t> lookup_group(const std::string& name);

// The capabilities a daemon may keep; nothing else is ever kept.
enum class Capability { kNetAdmin, kNetRaw };
std::string to_string(Capability c);

class Privileges {
 public:
  virtual ~Privileges() = default;
  // The user's ids, e.g. "no such user 'm6tx'". Called before anything is set up, so that a
  // typo fails the start with nothing installed.
  virtual OsResult<UserIds> lookup(const std::string& user) = 0;
  // Makes `dir` owned by the user (mode unchanged), for the files the daemon must still
  // create or remove after the drop (control socket, claims).
  virtual OsStatus give_dir(const std::string& dir, const UserIds& ids) = 0;
  // Irreversibly: supplementary groups cleared, gid and uid (real, effective, saved) set to
  // the user's, permitted and effective capabilities reduced to `keep`, inheritable and
  // ambient sets emptied (a child such as the hook gets no capability), bounding set cleared.
  virtual OsStatus drop(const UserIds& ids, const std::vector<Capability>& keep) = 0;
};

// libcap-ng.
std::unique_ptr<Privileges> make_privileges();

// Whether the running kernel lets an unprivileged socket use SO_BINDTODEVICE (Linux >= 5.7;
// before that it needs CAP_NET_RAW).
bool kernel_allows_unprivileged_bindtodevice();

}  // namespace m6t::os
