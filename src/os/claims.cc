#include "os/claims.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "os/fs.h"

namespace m6t::os {

namespace {

// The /80's 10 bytes in hex: one namespace of values per prefix, so that clients of different
// MNs (different /80s) never contend.
std::string prefix_stem(const core::Ipv6Prefix& prefix) {
  std::string s;
  char buf[3];
  for (int i = 0; i < 10; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", prefix.addr.b[i]);
    s += buf;
  }
  return s;
}

}  // namespace

OsResult<std::unique_ptr<FileClaims>> FileClaims::open(const std::string& dir,
                                                       const core::Ipv6Prefix& prefix) {
  if (auto st = make_dirs(dir); !st) return OsError{st.error()};
  return std::unique_ptr<FileClaims>(new FileClaims(dir, prefix_stem(prefix)));
}

FileClaims::~FileClaims() {
  while (!held_.empty())
    release(held_.begin()->first);
}

std::string FileClaims::path_of(std::uint64_t value) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%012" PRIx64 ".lock", value);
  return dir_ + "/" + stem_ + buf;
}

bool FileClaims::claim(std::uint64_t value) {
  if (held_.count(value)) return false;  // already ours: not a *new* value
  std::string path = path_of(value);
  // A holder may unlink the file between our open and our flock (release below); the lock
  // we then get is on an orphan inode, so check that the path still names what we locked.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      ++errors_;
      return false;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
      if (errno != EWOULDBLOCK) ++errors_;
      ::close(fd);
      return false;  // another client holds it
    }
    struct stat by_fd {
    }, by_path{};
    if (::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
        by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev) {
      held_[value] = fd;
      return true;
    }
    ::close(fd);
  }
  ++errors_;
  return false;
}

void FileClaims::release(std::uint64_t value) {
  auto it = held_.find(value);
  if (it == held_.end()) return;
  // Unlink while still holding the lock, so that nobody can lock the old inode in between.
  ::unlink(path_of(value).c_str());
  ::close(it->second);
  held_.erase(it);
}

}  // namespace m6t::os
