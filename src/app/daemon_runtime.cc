#include "app/daemon_runtime.h"

#include <csignal>
#include <cstdio>
#include <cstring>

#include "app/commands.h"
#include "app/preflight.h"

namespace m6t::app {

DaemonRuntime::DaemonRuntime(std::string role, const std::string& log_level)
    : role_(std::move(role)),
      log_(role_, parse_log_level(log_level)),
      privileges_(os::make_privileges()) {}

DaemonRuntime::~DaemonRuntime() {
  // The control socket goes before the loop it is registered with.
  control_.reset();
}

int DaemonRuntime::fail(const std::string& what) const {
  std::fprintf(stderr, "m6t %s: %s\n", role_.c_str(), what.c_str());
  return kExitUsage;
}

os::OsStatus DaemonRuntime::begin(const std::string& user) {
  auto ids = lookup_user(*privileges_, user);
  if (!ids) return os::OsError{ids.error()};
  user_ = *ids;
  auto loop = os::EventLoop::create();
  if (!loop) return os::OsError{loop.error()};
  loop_ = std::move(*loop);
  auto net = os::open_netconfig();
  if (!net) return os::OsError{net.error()};
  net_ = std::move(*net);
  return os::Ok{};
}

os::OsResult<std::unique_ptr<os::TunDevice>> DaemonRuntime::open_tun(const std::string& name,
                                                                     std::uint32_t mtu) {
  auto tun = os::open_tun(name);
  if (!tun) return os::OsError{"--tun " + name + ": " + tun.error()};
  int ifindex = (*tun)->ifindex();
  if (auto st = net_->set_mtu(ifindex, mtu); !st) return os::OsError{st.error()};
  if (auto st = net_->make_point_to_point_quiet(ifindex); !st) return os::OsError{st.error()};
  if (auto st = net_->set_up(ifindex); !st) return os::OsError{st.error()};
  return std::move(*tun);
}

os::OsStatus DaemonRuntime::serve_control(const std::string& path,
                                          std::function<std::string()> show) {
  const std::string dir = parent_dir(path);
  const bool existed = dir_exists(dir);
  if (auto st = control_dir_ready(path, true); !st) return st;
  control_dir_ = OwnedDir{dir, existed};
  auto control = os::ControlServer::open(path, *loop_, [show](const std::string& req) {
    if (req != "show") return std::string(R"({"error":"unknown request"})");
    return show();
  });
  if (!control) return os::OsError{"--control " + path + ": " + control.error()};
  control_ = std::move(*control);
  return os::Ok{};
}

void DaemonRuntime::set_deadline_source(std::function<core::Deadline()> next_deadline) {
  next_deadline_ = std::move(next_deadline);
}

void DaemonRuntime::rearm() {
  if (next_deadline_) loop_->set_deadline(next_deadline_());
}

os::OsStatus DaemonRuntime::watch(int fd, std::function<void(std::uint32_t events)> handler) {
  return loop_->add(fd, [this, handler = std::move(handler)](std::uint32_t events) {
    handler(events);
    rearm();
  });
}

void DaemonRuntime::unwatch(int fd) {
  loop_->remove(fd);
}

void DaemonRuntime::on_timer(std::function<void()> handler) {
  loop_->on_timer([this, handler = std::move(handler)] {
    handler();
    rearm();
  });
}

os::OsStatus DaemonRuntime::handle_signals(std::function<void()> on_hup,
                                           std::function<void()> on_child) {
  return loop_->on_signals({SIGTERM, SIGINT, SIGHUP, SIGCHLD}, [this, on_hup, on_child](int sig) {
    if (sig == SIGCHLD) {
      if (on_child) on_child();
    } else if (sig == SIGHUP) {
      if (on_hup)
        on_hup();
      else
        log_.info("SIGHUP ignored: restart to change settings");
    } else {
      stop_signal_ = sig;
      loop_->stop();
      return;
    }
    rearm();
  });
}

os::OsStatus DaemonRuntime::drop_privileges(std::vector<OwnedDir> dirs,
                                            const std::vector<os::Capability>& keep) {
  if (!user_) return os::Ok{};
  if (control_dir_) dirs.push_back(*control_dir_);
  return become_user(*privileges_, *user_, dirs, keep, log_);
}

int DaemonRuntime::run() {
  rearm();
  auto run = loop_->run();
  if (run) return kExitOk;
  log_.error("event loop: ", run.error());
  return kExitFailure;
}

void DaemonRuntime::log_stopped() const {
  log_.info("m6t ", role_, " stopped",
            stop_signal_ ? std::string(" by ") + strsignal(stop_signal_) : std::string());
}

}  // namespace m6t::app
