#include "os/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "os/unique_fd.h"

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

OsStatus write_file_atomic(const std::string& path, std::span<const std::uint8_t> data) {
  const std::string tmp = path + ".tmp";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error("open " + tmp);
    // An older PATH.tmp of another mode keeps it through O_CREAT: set it.
    if (::fchmod(fd.get(), 0600) < 0) {
      const OsError e = errno_error("chmod " + tmp);
      ::unlink(tmp.c_str());
      return e;
    }
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const OsError e = errno_error("write " + tmp);
        ::unlink(tmp.c_str());
        return e;
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) < 0) {
      const OsError e = errno_error("fsync " + tmp);
      ::unlink(tmp.c_str());
      return e;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    const OsError e = errno_error("rename " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d || ::fsync(d.get()) < 0) return errno_error("fsync " + dir);
  return Ok{};
}

OsResult<std::optional<std::vector<std::uint8_t>>> read_file(const std::string& path,
                                                             std::size_t max_bytes) {
  // O_NONBLOCK: a FIFO in its place must not hang the start (it is refused below).
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::vector<std::uint8_t>>{};
    return errno_error("open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return errno_error("stat " + path);
  if (!S_ISREG(st.st_mode)) return OsError{path + ": not a regular file"};
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return OsError{path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                   std::to_string(max_bytes) + " a state file of this table can have"};
  std::vector<std::uint8_t> out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (n == 0) break;  // shrank while read: the decoder sees the short file
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return std::optional<std::vector<std::uint8_t>>(std::move(out));
}

}  // namespace m6t::os
