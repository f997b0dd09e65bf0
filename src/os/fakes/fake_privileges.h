// Privileges fake for tests only (never part of the m6t binary).
#pragma once

#include <string>
#include <vector>

#include "os/privileges.h"

namespace m6t::os {

// Records calls ("lookup m6t", "give_dir /run/m6t m6t", "drop m6t keep CAP_NET_ADMIN");
// knows the users in `users`.
class FakePrivileges final : public Privileges {
 public:
  OsResult<UserIds> lookup(const std::string& user) override;
  OsStatus give_dir(const std::string& dir, const UserIds& ids) override;
  OsStatus drop(const UserIds& ids, const std::vector<Capability>& keep) override;

  std::vector<UserIds> users{{"m6t", 990, 990}, {"nobody", 65534, 65534}};
  std::vector<std::string> calls;
  bool fail_drop = false;
};

}  // namespace m6t::os
