// What both daemons do around their data path, in one place: failing cleanly with nothing
// installed, the TUN device, the control socket, signals, the privilege drop, logging, the
// event loop and the stop. run_gateway and run_client only say what is theirs.
//
// Order of a start (each step undone by destructors if a later one fails):
//   preflight (settings checks, user looked up) -> event loop, rtnetlink -> the daemon's
//   sockets -> TUN device -> control socket -> watched descriptors, timer, signals -> privilege
//   drop -> "up" log line, READY=1 to systemd -> loop until SIGTERM/SIGINT -> STOPPING=1 ->
//   the daemon's own shutdown.
//
// Under systemd (Type=notify) the runtime also sends STATUS= (the daemon's one-line summary,
// when it changes, checked every kStatusEvery) and, when WatchdogSec= is set, WATCHDOG=1 at
// half that interval from the loop itself: a loop that stops turning stops the pings.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/least_privilege.h"
#include "app/logger.h"
#include "app/reload.h"
#include "core/time.h"
#include "os/control.h"
#include "os/event_loop.h"
#include "os/http_server.h"
#include "os/netlink.h"
#include "os/privileges.h"
#include "os/tun.h"

namespace m6t::app {

class DaemonRuntime {
 public:
  DaemonRuntime(std::string role, const std::string& log_level, const std::string& log_target);
  DaemonRuntime(const DaemonRuntime&) = delete;
  DaemonRuntime& operator=(const DaemonRuntime&) = delete;
  ~DaemonRuntime();

  // One line on stderr ("m6t gateway: what"); exit status 2. What was installed so far is
  // removed by the destructors of those who hold it.
  int fail(const std::string& what) const;

  // The user's ids (looked up before anything is installed), the event loop, rtnetlink.
  os::OsStatus begin(const std::string& user);
  // The TUN device with its MTU, quiet (no link-local address, no multicast) and up. It goes
  // away with the returned object, and the routes through it with it.
  os::OsResult<std::unique_ptr<os::TunDevice>> open_tun(const std::string& name, std::uint32_t mtu);
  // The control socket (its directory created only when it is the default /run/m6t),
  // answering each request with `answer(request)`; an empty answer is an unknown request.
  // With `group` (--control-group) members of that group may read it too (mode 0660); the
  // socket is given to --user at the privilege drop.
  os::OsStatus serve_control(const std::string& path, const std::string& group,
                             std::function<std::string(const std::string&)> answer);
  // After every handler below, the loop's timer is re-armed from `next_deadline`.
  void set_deadline_source(std::function<core::Deadline()> next_deadline);
  os::OsStatus watch(int fd, std::function<void(std::uint32_t events)> handler);
  void unwatch(int fd);
  void on_timer(std::function<void()> handler);
  // SIGTERM and SIGINT stop the loop; SIGHUP and SIGCHLD go to the handlers (SIGHUP without
  // one is logged and ignored).
  os::OsStatus handle_signals(std::function<void()> on_hup, std::function<void()> on_child = {});
  // --metrics-listen: an HTTP endpoint for Prometheus, whose threads ask the control socket
  // for a summary (never the loop's state). Call after drop_privileges (its threads must not
  // hold capabilities).
  os::OsStatus serve_metrics(const core::Endpoint4& listen);
  // Gives up root (least_privilege.h) when --user was given: the control socket's directory
  // and `dirs` are the directories written after the drop.
  os::OsStatus drop_privileges(std::vector<OwnedDir> dirs, const std::vector<os::Capability>& keep);
  bool has_user() const { return user_.has_value(); }
  // Tells the service manager the daemon serves (READY=1), with `status()` as STATUS=.
  void ready(std::function<std::string()> status);
  // A reload begins (RELOADING=1) and ends (READY=1 and the status again).
  void reloading();
  void reloaded();
  // A stop with a drain: at the first SIGTERM or SIGINT `begin` runs (STOPPING=1 is sent)
  // and the loop goes on serving for `drain` before it ends; a second signal ends it at once.
  void set_drain(core::Duration drain, std::function<void()> begin);
  // Runs until a stop signal (and its drain); exit status 0, or 1 when the loop itself failed.
  // STOPPING=1 once it ends, or when the drain begins.
  int run();
  // "m6t gateway stopped by Terminated".
  void log_stopped() const;

  // SIGHUP: RELOADING=1, the configuration read again (reload.h), `apply` given the new
  // settings when they validate, the outcome in one line (warning when something waits for
  // a restart or the file was rejected), READY=1. `running` becomes what now runs.
  template <class S, class Apply>
  void reload(ConfigReload<S>& reload, S& running, Apply apply) {
    reloading();
    auto r = reload.reload(running);
    if (r.error) {
      log_.warn("configuration rejected, the running one stays: ", r.error->message);
    } else {
      if (auto st = apply(r.settings); !st) log_.warn("reload: ", st.error());
      running = r.settings;
      log_.set_level(parse_log_level(running.log_level));
      const std::string from = "configuration reloaded from " + reload.source();
      if (r.needs_restart.empty())
        log_.info(from, r.applied.empty() ? ": nothing changed" : ": applied ",
                  option_list(r.applied));
      else
        log_.warn(from, r.applied.empty() ? "" : ": applied " + option_list(r.applied),
                  "; not applied until a restart: ", option_list(r.needs_restart));
    }
    reloaded();
  }

  const Logger& log() const { return log_; }
  os::EventLoop& loop() { return *loop_; }
  os::NetConfig& net() { return *net_; }

 private:
  void rearm();
  void service_tick();

  std::string role_;
  Logger log_;
  std::unique_ptr<os::Privileges> privileges_;
  std::optional<os::UserIds> user_;
  std::unique_ptr<os::EventLoop> loop_;
  std::unique_ptr<os::NetConfig> net_;
  std::unique_ptr<os::ControlServer> control_;
  std::optional<OwnedDir> control_dir_;
  std::string control_path_;
  std::unique_ptr<os::HttpServer> metrics_;
  std::function<core::Deadline()> next_deadline_;
  std::function<void()> timer_handler_;
  std::function<std::string()> status_;
  std::string last_status_;
  std::optional<core::Duration> watchdog_every_;
  core::Deadline service_deadline_;
  int stop_signal_ = 0;
  core::Duration drain_{};
  std::function<void()> drain_begin_;
  core::Deadline drain_until_;
  bool stopping_sent_ = false;
  void check_drain();
};

}  // namespace m6t::app
