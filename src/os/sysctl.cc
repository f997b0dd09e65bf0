#include "os/sysctl.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace m6t::os {

OsResult<std::string> read_sysctl(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  std::ifstream in(path);
  if (!in) return errno_error("read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string v = text.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
    v.pop_back();
  return v;
}

}  // namespace m6t::os
