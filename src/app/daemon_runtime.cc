#include "app/daemon_runtime.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "app/commands.h"
#include "app/metrics.h"
#include "app/preflight.h"
#include "os/clock.h"
#include "os/service_manager.h"

namespace m6t::app {

DaemonRuntime::DaemonRuntime(std::string role, const std::string& log_level,
                             const std::string& log_target)
    : role_(std::move(role)),
      log_(role_, parse_log_level(log_level), resolve_log_target(log_target)),
      privileges_(os::make_privileges()) {}

DaemonRuntime::~DaemonRuntime() {
  // The metrics threads ask the control socket: they stop first. The control socket goes
  // before the loop it is registered with.
  metrics_.reset();
  control_.reset();
}

os::OsStatus DaemonRuntime::serve_metrics(const core::Endpoint4& listen) {
  const std::string control = control_path_;
  auto server = os::HttpServer::start(listen, "/metrics", [control] {
    auto answer = os::control_request(control, "summary", std::chrono::milliseconds(3000));
    auto doc = answer ? nlohmann::json::parse(*answer, nullptr, false) : nlohmann::json();
    if (!answer || !doc.is_object())
      return os::HttpServer::Response{503, "text/plain", "the daemon did not answer\n"};
    doc["control"] = control;
    return os::HttpServer::Response{200, "text/plain; version=0.0.4; charset=utf-8",
                                    prometheus_text(nlohmann::json::array({doc}))};
  });
  if (!server) return os::OsError{"--metrics-listen " + listen.to_string() + ": " + server.error()};
  metrics_ = std::move(*server);
  log_.info("metrics at http://", listen.to_string(), "/metrics");
  return os::Ok{};
}

int DaemonRuntime::fail(const std::string& what) const {
  // "<3>": priority err in the journal (see cli.cc).
  std::fprintf(stderr, "%sm6t %s: %s\n", os::stderr_is_journal() ? "<3>" : "", role_.c_str(),
               what.c_str());
  os::notify("STATUS=failed: " + what);
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

os::OsStatus DaemonRuntime::serve_control(const std::string& path, const std::string& group,
                                          std::function<std::string(const std::string&)> answer) {
  const std::string dir = parent_dir(path);
  const bool existed = dir_exists(dir);
  if (auto st = control_dir_ready(path, true); !st) return st;
  control_dir_ = OwnedDir{dir, existed};
  auto control = os::ControlServer::open(path, *loop_, [answer](const std::string& req) {
    std::string a = answer(req);
    return a.empty() ? std::string(R"({"error":"unknown request"})") : a;
  });
  if (!control) return os::OsError{"--control " + path + ": " + control.error()};
  control_ = std::move(*control);
  control_path_ = path;
  if (!group.empty()) {
    auto gid = os::lookup_group(group);
    if (!gid) return os::OsError{"--control-group " + group + ": " + gid.error()};
    if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0 ||
        ::chmod(path.c_str(), 0660) != 0)
      return os::OsError{"--control-group " + group + ": " + path + ": " + std::strerror(errno)};
  }
  return os::Ok{};
}

void DaemonRuntime::set_deadline_source(std::function<core::Deadline()> next_deadline) {
  next_deadline_ = std::move(next_deadline);
}

namespace {
// How often STATUS= is refreshed (only sent when it changed).
constexpr core::Duration kStatusEvery = std::chrono::seconds(5);
}  // namespace

void DaemonRuntime::rearm() {
  core::Deadline next = next_deadline_ ? next_deadline_() : core::Deadline{};
  loop_->set_deadline(core::earliest(core::earliest(next, service_deadline_), drain_until_));
}

void DaemonRuntime::set_drain(core::Duration drain, std::function<void()> begin) {
  drain_ = drain;
  drain_begin_ = std::move(begin);
}

void DaemonRuntime::check_drain() {
  if (drain_until_ && os::mono_now() >= *drain_until_) loop_->stop();
}

void DaemonRuntime::ready(std::function<std::string()> status) {
  status_ = std::move(status);
  last_status_ = status_();
  os::notify("READY=1\nSTATUS=" + last_status_);
  if (auto w = os::watchdog_interval()) {
    watchdog_every_ = std::chrono::duration_cast<core::Duration>(*w) / 2;
    os::notify("WATCHDOG=1");
  }
  // The loop's timer serves the daemon's deadlines and this tick alike.
  loop_->on_timer([this] {
    if (timer_handler_) timer_handler_();
    service_tick();
    check_drain();
    rearm();
  });
  service_deadline_ =
      os::mono_now() + (watchdog_every_ ? std::min(*watchdog_every_, kStatusEvery) : kStatusEvery);
}

void DaemonRuntime::service_tick() {
  const core::Time now = os::mono_now();
  if (!service_deadline_ || now < *service_deadline_) return;
  if (watchdog_every_) os::notify("WATCHDOG=1");
  if (status_) {
    std::string s = status_();
    if (s != last_status_) {
      os::notify("STATUS=" + s);
      last_status_ = std::move(s);
    }
  }
  service_deadline_ =
      now + (watchdog_every_ ? std::min(*watchdog_every_, kStatusEvery) : kStatusEvery);
}

void DaemonRuntime::reloading() {
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(os::mono_now().time_since_epoch());
  os::notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec.count()));
}

void DaemonRuntime::reloaded() {
  last_status_ = status_ ? status_() : std::string();
  os::notify("READY=1\nSTATUS=" + last_status_);
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
  timer_handler_ = std::move(handler);
  loop_->on_timer([this] {
    if (timer_handler_) timer_handler_();
    check_drain();
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
      if (drain_begin_ && drain_ > core::Duration{} && !drain_until_) {
        os::notify("STOPPING=1");
        stopping_sent_ = true;
        drain_begin_();
        drain_until_ = os::mono_now() + drain_;
      } else {
        loop_->stop();
        return;
      }
    }
    rearm();
  });
}

os::OsStatus DaemonRuntime::drop_privileges(std::vector<OwnedDir> dirs,
                                            const std::vector<os::Capability>& keep) {
  if (!user_) return os::Ok{};
  if (control_dir_) dirs.push_back(*control_dir_);
  // The daemon's own socket becomes the user's (its group stays: --control-group).
  if (!control_path_.empty() &&
      ::chown(control_path_.c_str(), user_->uid, static_cast<gid_t>(-1)) != 0)
    return os::OsError{"--user " + user_->name + ": " + control_path_ + ": " +
                       std::strerror(errno)};
  return become_user(*privileges_, *user_, dirs, keep, log_);
}

int DaemonRuntime::run() {
  rearm();
  auto run = loop_->run();
  if (!stopping_sent_) os::notify("STOPPING=1");
  if (run) return kExitOk;
  log_.error("event loop: ", run.error());
  return kExitFailure;
}

void DaemonRuntime::log_stopped() const {
  log_.info("m6t ", role_, " stopped",
            stop_signal_ ? std::string(" by ") + strsignal(stop_signal_) : std::string());
}

}  // namespace m6t::app
