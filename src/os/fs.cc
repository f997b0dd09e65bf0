#include "os/fs.h"

#include <sys/stat.h>

#include <cerrno>

namespace m6t::os {

OsStatus make_dirs(const std::string& dir) {
  if (dir.empty()) return Ok{};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Ok{};
    return OsError{dir + ": not a directory"};
  }
  if (const auto slash = dir.find_last_of('/'); slash != std::string::npos && slash > 0) {
    if (auto r = make_dirs(dir.substr(0, slash)); !r) return r;
  }
  if (::mkdir(dir.c_str(), 0755) < 0) {
    if (errno == EEXIST) return Ok{};  // created concurrently
    return errno_error("mkdir " + dir);
  }
  // Readable by all whatever the umask: the files' own modes are the access control.
  if (::chmod(dir.c_str(), 0755) < 0) return errno_error("chmod " + dir);
  return Ok{};
}

}  // namespace m6t::os
