// Wiring of the client: TUN device, IPv4 monitor, per-attachment socket, control socket,
// epoll loop, clean shutdown.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "app/client_daemon.h"
#include "app/commands.h"
#include "app/least_privilege.h"
#include "app/uplink.h"
#include "os/claims.h"
#include "os/clock.h"
#include "os/control.h"
#include "os/event_loop.h"
#include "os/netlink.h"
#include "os/process.h"
#include "os/random.h"

namespace m6t::app {

namespace {

// One line on stderr, and everything installed so far is removed by the callers' destructors.
int fail_start(const Logger& log, const std::string& what) {
  (void)log;
  std::fprintf(stderr, "m6t client: %s\n", what.c_str());
  return kExitUsage;
}

}  // namespace

int run_client(const ClientSettings& s) {
  Logger log("client", parse_log_level(s.log_level));
  auto privileges = os::make_privileges();
  auto looked_up = lookup_user(*privileges, s.user);
  if (!looked_up) return fail_start(log, looked_up.error());
  const std::optional<os::UserIds> user = *looked_up;
  auto loop = os::EventLoop::create();
  if (!loop) return fail_start(log, loop.error());
  auto net = os::open_netconfig();
  if (!net) return fail_start(log, net.error());
  auto monitor = os::open_ipv4_monitor();
  if (!monitor) return fail_start(log, monitor.error());
  std::optional<int> uplink_index;
  if (!s.uplink.empty()) {
    auto idx = (*net)->ifindex(s.uplink);
    if (!idx) return fail_start(log, "--uplink " + s.uplink + ": " + idx.error());
    uplink_index = *idx;
  }

  if (!s.hook.empty() && ::access(s.hook.c_str(), X_OK) < 0)
    return fail_start(log, "--hook " + s.hook + ": " + std::strerror(errno));
  const OwnedDir claims_dir{s.claims_dir, dir_exists(s.claims_dir), true};
  auto claims = os::FileClaims::open(s.claims_dir, s.prefix);
  if (!claims) return fail_start(log, "--claims-dir " + s.claims_dir + ": " + claims.error());
  auto processes = os::make_process_runner();

  auto tun = os::open_tun(s.tun);
  if (!tun) return fail_start(log, "--tun " + s.tun + ": " + tun.error());
  int ifindex = (*tun)->ifindex();
  if (auto st = (*net)->set_mtu(ifindex, s.mtu); !st) return fail_start(log, st.error());
  if (auto st = (*net)->make_point_to_point_quiet(ifindex); !st) return fail_start(log, st.error());
  if (auto st = (*net)->set_up(ifindex); !st) return fail_start(log, st.error());

  SocketFactory factory = [&s](const core::Endpoint4& gateway, const core::Uplink& uplink) {
    os::UdpOptions o;
    o.bind = core::Endpoint4{uplink.address, 0};
    o.connect = gateway;
    o.device = s.uplink;  // §2.5: one client per uplink, its socket bound to it
    o.pmtu_discovery = s.pmtu_discovery;
    return os::open_udp(o);
  };
  os::SystemRandom rng;
  ClientDaemon daemon(s, rng, **tun, **net, factory, log, os::mono_now(), claims->get(),
                      processes.get());
  os::EventLoop& l = **loop;

  auto rearm = [&] { l.set_deadline(daemon.next_deadline()); };
  daemon.on_socket_change = [&](int old_fd, int new_fd) {
    if (old_fd >= 0) l.remove(old_fd);
    if (new_fd >= 0) {
      auto st = l.add(new_fd, [&](std::uint32_t events) {
        if (events & EPOLLERR) daemon.on_udp_errors(os::mono_now());
        daemon.on_udp_readable(os::mono_now());
        rearm();
      });
      if (!st) log.error("watch socket: ", st.error());
    }
  };

  const OwnedDir control_dir{parent_dir(s.control), dir_exists(parent_dir(s.control))};
  auto control = os::ControlServer::open(s.control, l, [&](const std::string& req) {
    if (req != "show") return std::string(R"({"error":"unknown request"})");
    return daemon.status(os::mono_now()).dump();
  });
  if (!control) return fail_start(log, "--control " + s.control + ": " + control.error());

  auto refresh_uplink = [&] {
    auto snap = (*monitor)->dump();
    if (!snap) {
      log.warn("IPv4 state dump: ", snap.error());
      return;
    }
    daemon.on_uplink(select_uplink(*snap, uplink_index), os::mono_now());
  };
  if (auto st = l.add((*monitor)->fd(),
                      [&](std::uint32_t) {
                        if ((*monitor)->drain()) refresh_uplink();
                        rearm();
                      });
      !st)
    return fail_start(log, st.error());
  if (auto st = l.add((*tun)->fd(),
                      [&](std::uint32_t) {
                        daemon.on_tun_readable(os::mono_now());
                        rearm();
                      });
      !st)
    return fail_start(log, st.error());
  l.on_timer([&] {
    core::Time now = os::mono_now();
    // The host may sleep without CLOCK_MONOTONIC noticing (client_timers.h: sleep check).
    if (daemon.engine().sleep_check_due(now)) daemon.on_sleep_offset(os::boot_minus_mono(), now);
    daemon.on_timer(now);
    rearm();
  });
  int stop_signal = 0;
  if (auto st = l.on_signals({SIGTERM, SIGINT, SIGHUP, SIGCHLD},
                             [&](int sig) {
                               if (sig == SIGCHLD) {
                                 daemon.on_child_exit(os::mono_now());
                                 rearm();
                                 return;
                               }
                               if (sig == SIGHUP) {
                                 log.info("SIGHUP: re-reading the IPv4 state");
                                 refresh_uplink();
                                 return;
                               }
                               stop_signal = sig;
                               l.stop();
                             });
      !st)
    return fail_start(log, st.error());
  // Everything is set up; the first attachment below already runs with what is kept
  // (least_privilege.h).
  if (user) {
    auto keep = client_keeps(!s.uplink.empty(), os::kernel_allows_unprivileged_bindtodevice());
    if (auto st = become_user(*privileges, *user, {claims_dir, control_dir}, keep, log); !st)
      return fail_start(log, st.error());
  }

  log.info("m6t client up: tun ", s.tun, " mtu ", s.mtu,
           s.pmtu_discovery ? " (path-MTU discovery)" : "", ", prefix ", s.prefix.to_string(), ", ",
           s.gateways.size(), " gateway(s), first ", s.gateways.front().to_string(), ", control ",
           s.control);
  daemon.on_sleep_offset(os::boot_minus_mono(), os::mono_now());
  refresh_uplink();
  rearm();

  auto run = l.run();
  int status = kExitOk;
  if (!run) {
    log.error("event loop: ", run.error());
    status = kExitFailure;
  }
  daemon.shutdown(os::mono_now());
  log.info("m6t client stopped", stop_signal ? std::string(" by ") + strsignal(stop_signal) : "");
  return status;
}

}  // namespace m6t::app
