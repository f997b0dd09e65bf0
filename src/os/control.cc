#include "os/control.h"

#include <malloc.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "os/unique_fd.h"

namespace m6t::os {
namespace {

constexpr std::size_t kMaxRequest = 4096;
// Answers at least this large are followed by malloc_trim (see drop()).
constexpr std::size_t kTrimAfter = 1 << 20;
constexpr std::size_t kMaxClients = 16;
// A client gets this long from connect to having read the whole answer. The daemon never
// waits for a client (all I/O is non-blocking); this only reclaims stuck connections.
constexpr std::chrono::seconds kClientTimeout{5};

OsResult<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    return OsError{path + ": not a usable socket path (1 to " +
                   std::to_string(sizeof sa.sun_path - 1) + " bytes)"};
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

OsResult<UniqueFd> unix_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket unix");
  return fd;
}

class LinuxControlServer final : public ControlServer {
 public:
  LinuxControlServer(EventLoop& loop, Handler handler, std::string path, UniqueFd listener,
                     struct stat st)
      : loop_(loop),
        handler_(std::move(handler)),
        path_(std::move(path)),
        listener_(std::move(listener)),
        dev_(st.st_dev),
        ino_(st.st_ino) {}

  ~LinuxControlServer() override {
    for (auto& [fd, conn] : conns_) {
      loop_.remove(fd);
      loop_.remove(conn.timer.get());
    }
    loop_.remove(listener_.get());
    // A newer daemon may have replaced a socket it found unanswered (e.g. while this one was
    // stuck); its file must survive our exit.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
  }

  OsStatus start() {
    return loop_.add(listener_.get(), [this](std::uint32_t) { on_accept(); });
  }

 private:
  struct Conn {
    UniqueFd fd;
    UniqueFd timer;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    bool answering = false;
  };

  void on_accept() {
    // Level-triggered: whatever is left in the backlog is taken on the next round.
    for (int i = 0; i < 8; ++i) {
      UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd) return;  // EAGAIN, or an aborted connection: nothing to do either way
      if (conns_.size() >= kMaxClients) continue;  // closed at once: the client sees EOF
      Conn conn;
      conn.timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
      if (!conn.timer) continue;
      itimerspec its{};
      its.it_value.tv_sec = kClientTimeout.count();
      ::timerfd_settime(conn.timer.get(), 0, &its, nullptr);
      const int sock = fd.get();
      const int timer = conn.timer.get();
      conn.fd = std::move(fd);
      if (!loop_.add(sock, [this, sock](std::uint32_t ev) { on_event(sock, ev); })) continue;
      if (!loop_.add(timer, [this, sock](std::uint32_t) { drop(sock); })) {
        loop_.remove(sock);
        continue;
      }
      conns_.emplace(sock, std::move(conn));
    }
  }

  void on_event(int sock, std::uint32_t /*events*/) {
    const auto it = conns_.find(sock);
    if (it == conns_.end()) return;
    Conn& conn = it->second;
    if (conn.answering) {
      flush(conn);
      return;
    }
    char buf[1024];
    for (;;) {
      const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n > 0) {
        conn.in.append(buf, static_cast<std::size_t>(n));
        if (const auto eol = conn.in.find('\n'); eol != std::string::npos) {
          conn.in.resize(eol);
          answer(conn);
          return;
        }
        if (conn.in.size() > kMaxRequest) return drop(sock);
        continue;
      }
      if (n == 0) {
        // A client that shut down its side without a newline still asked something.
        if (conn.in.empty()) return drop(sock);
        answer(conn);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return drop(sock);
    }
  }

  void answer(Conn& conn) {
    if (!conn.in.empty() && conn.in.back() == '\r') conn.in.pop_back();
    conn.out = handler_(conn.in);
    conn.answering = true;
    // Answers of several MB do not fit the socket buffer: the rest goes out on EPOLLOUT.
    if (!loop_.set_events(conn.fd.get(), EPOLLOUT)) return drop(conn.fd.get());
    flush(conn);
  }

  void flush(Conn& conn) {
    while (conn.sent < conn.out.size()) {
      const ssize_t n = ::send(conn.fd.get(), conn.out.data() + conn.sent,
                               conn.out.size() - conn.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        break;  // EPIPE, ECONNRESET: the client went away
      }
      conn.sent += static_cast<std::size_t>(n);
    }
    // Complete (or failed): closing is the end-of-answer mark the client reads up to.
    drop(conn.fd.get());
  }

  void drop(int sock) {
    const auto it = conns_.find(sock);
    if (it == conns_.end()) return;
    loop_.remove(sock);
    loop_.remove(it->second.timer.get());
    const bool large = it->second.out.size() >= kTrimAfter;
    conns_.erase(it);
    // A large answer (`show` of a gateway with many states) leaves its JSON tree's and text's
    // memory free but held by malloc, scattered between live states where it is never
    // returned on its own: give it back, so that a gateway's RSS stays what its states need.
    if (large) ::malloc_trim(0);
  }

  EventLoop& loop_;
  Handler handler_;
  std::string path_;
  UniqueFd listener_;
  dev_t dev_;
  ino_t ino_;
  std::unordered_map<int, Conn> conns_;
};

}  // namespace

OsResult<std::unique_ptr<ControlServer>> ControlServer::open(const std::string& path,
                                                             EventLoop& loop, Handler handler) {
  auto addr = unix_address(path);
  if (!addr) return OsError{addr.error()};
  if (const auto slash = path.find_last_of('/'); slash != std::string::npos && slash > 0) {
    // A missing directory is the caller's to create or refuse: creating it here would leave
    // it behind for good.
    struct stat dir {};
    const std::string parent = path.substr(0, slash);
    if (::stat(parent.c_str(), &dir) < 0) return errno_error("directory " + parent);
    if (!S_ISDIR(dir.st_mode)) return OsError{"directory " + parent + ": not a directory"};
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // Never unlink something that is not a socket: a typo in the path must not eat a file.
    if (!S_ISSOCK(st.st_mode)) return OsError{path + ": exists and is not a socket"};
    auto probe = unix_socket();
    if (!probe) return OsError{probe.error()};
    if (::connect(probe->get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0 ||
        errno == EAGAIN) {  // EAGAIN: a full backlog, but someone listens
      return OsError{path + ": another daemon is already running"};
    }
    if (errno != ECONNREFUSED) return errno_error(path);
    // Nobody listens: the file was left behind by a daemon that died.
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return errno_error("unlink " + path);
  } else if (errno != ENOENT) {
    return errno_error(path);
  }

  auto listener = unix_socket();
  if (!listener) return OsError{listener.error()};
  if (::bind(listener->get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) < 0) {
    return errno_error("bind " + path);
  }
  // The state (MN addresses and NAT mappings) is for the administrators' group, not for all.
  if (::chmod(path.c_str(), 0660) < 0) return errno_error("chmod " + path);
  if (::listen(listener->get(), static_cast<int>(kMaxClients)) < 0) {
    return errno_error("listen " + path);
  }
  if (::stat(path.c_str(), &st) < 0) return errno_error("stat " + path);

  auto server = std::make_unique<LinuxControlServer>(loop, std::move(handler), path,
                                                     std::move(*listener), st);
  if (auto r = server->start(); !r) return OsError{r.error()};
  return std::unique_ptr<ControlServer>(std::move(server));
}

OsResult<std::string> control_request(const std::string& path, const std::string& request,
                                      std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  // Milliseconds left, rounded up so that a wait never ends just before the deadline.
  const auto remaining = [&]() -> int {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
  };
  const auto timed_out = [&] {
    return OsError{path + ": no answer within " + std::to_string(timeout.count()) + " ms"};
  };
  // Waits until fd is ready for `events`; false on timeout.
  const auto wait = [&](int fd, short events) -> OsResult<bool> {
    for (;;) {
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, remaining());
      if (r > 0) return true;
      if (r == 0) return false;
      if (errno != EINTR) return errno_error(path + ": poll");
    }
  };

  auto addr = unix_address(path);
  if (!addr) return OsError{addr.error()};
  auto sock = unix_socket();
  if (!sock) return OsError{sock.error()};
  const int fd = sock->get();

  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0) break;
    if (errno == EINTR) continue;
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return OsError{errno_error(path).message + " (is the daemon running?)"};
    }
    if (errno != EAGAIN) return errno_error(path);
    // A Unix socket's connect does not go "in progress": EAGAIN means the daemon's backlog is
    // full right now, so try again shortly.
    if (remaining() == 0) return timed_out();
    ::poll(nullptr, 0, 10);
  }

  const std::string line = request + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_error(path + ": send");
    auto ready = wait(fd, POLLOUT);
    if (!ready) return OsError{ready.error()};
    if (!*ready) return timed_out();
  }
  ::shutdown(fd, SHUT_WR);

  std::string answer;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      answer.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return answer;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_error(path + ": receive");
    auto ready = wait(fd, POLLIN);
    if (!ready) return OsError{ready.error()};
    if (!*ready) return timed_out();
  }
}

}  // namespace m6t::os
