#include "os/result.h"

#include <cerrno>
#include <cstring>

namespace m6t::os {

OsError errno_error(const std::string& what) {
  return errno_error(what, errno);
}

OsError errno_error(const std::string& what, int err) {
  // strerror(3) may share a static buffer between threads; the GNU strerror_r returns a
  // pointer to either an immutable string or buf, both safe to read here.
  char buf[128];
  const char* text = ::strerror_r(err, buf, sizeof buf);
  return OsError{what + ": " + text};
}

}  // namespace m6t::os
