#include "os/fakes/fake_privileges.h"

namespace m6t::os {

OsResult<UserIds> FakePrivileges::lookup(const std::string& user) {
  calls.push_back("lookup " + user);
  for (const auto& u : users)
    if (u.name == user) return u;
  return OsError{"no such user '" + user + "'"};
}

OsStatus FakePrivileges::give_dir(const std::string& dir, const UserIds& ids) {
  calls.push_back("give_dir " + dir + " " + ids.name);
  return Ok{};
}

OsStatus FakePrivileges::drop(const UserIds& ids, const std::vector<Capability>& keep) {
  std::string call = "drop " + ids.name + " keep";
  for (Capability c : keep)
    call += " " + to_string(c);
  calls.push_back(call);
  if (fail_drop) return OsError{"cannot become user '" + ids.name + "'"};
  return Ok{};
}

}  // namespace m6t::os
