// Wiring of the gateway: devices, sockets, control socket, epoll loop, clean shutdown.
#include <sys/epoll.h>

#include <csignal>
#include <cstdio>

#include "app/commands.h"
#include "app/gateway_daemon.h"
#include "app/least_privilege.h"
#include "os/clock.h"
#include "os/control.h"
#include "os/event_loop.h"
#include "os/netlink.h"
#include "os/random.h"

namespace m6t::app {

namespace {

// One line on stderr, and everything installed so far is removed by the callers' destructors.
int fail_start(const Logger& log, const std::string& what) {
  (void)log;
  std::fprintf(stderr, "m6t gateway: %s\n", what.c_str());
  return kExitUsage;
}

}  // namespace

int run_gateway(const GatewaySettings& s) {
  Logger log("gateway", parse_log_level(s.log_level));
  auto privileges = os::make_privileges();
  auto looked_up = lookup_user(*privileges, s.user);
  if (!looked_up) return fail_start(log, looked_up.error());
  const std::optional<os::UserIds> user = *looked_up;
  auto loop = os::EventLoop::create();
  if (!loop) return fail_start(log, loop.error());
  auto net = os::open_netconfig();
  if (!net) return fail_start(log, net.error());

  std::vector<std::unique_ptr<os::UdpSocket>> sockets;
  for (const auto& l : s.listen) {
    os::UdpOptions o;
    o.bind = l;
    o.pmtu_discovery = s.pmtu_discovery;
    auto sock = os::open_udp(o);
    if (!sock) return fail_start(log, "--listen " + l.to_string() + ": " + sock.error());
    sockets.push_back(std::move(*sock));
  }
  // The TUN device goes last: once it exists, every failure path must remove what we added,
  // which its destructor (the device and its routes disappear with it) takes care of.
  auto tun = os::open_tun(s.tun);
  if (!tun) return fail_start(log, "--tun " + s.tun + ": " + tun.error());
  int ifindex = (*tun)->ifindex();
  if (auto st = (*net)->set_mtu(ifindex, s.mtu); !st) return fail_start(log, st.error());
  if (auto st = (*net)->make_point_to_point_quiet(ifindex); !st) return fail_start(log, st.error());
  if (auto st = (*net)->set_up(ifindex); !st) return fail_start(log, st.error());
  // §2.4: the MN prefix is routed into the tunnel; the daemon keeps the route in step with
  // the device's life (both go together).
  if (auto st = (*net)->add_route(ifindex, s.prefix, 1024); !st) return fail_start(log, st.error());

  os::SystemRandom rng;
  GatewayDaemon daemon(s, rng, **tun, std::move(sockets), log, os::mono_now());

  const OwnedDir control_dir{parent_dir(s.control), dir_exists(parent_dir(s.control))};
  auto control = os::ControlServer::open(s.control, **loop, [&](const std::string& req) {
    if (req != "show") return std::string(R"({"error":"unknown request"})");
    return daemon.status(os::mono_now()).dump();
  });
  if (!control) return fail_start(log, "--control " + s.control + ": " + control.error());

  os::EventLoop& l = **loop;
  auto rearm = [&] { l.set_deadline(daemon.next_deadline()); };
  for (std::size_t i = 0; i < daemon.sockets().size(); ++i) {
    int fd = daemon.sockets()[i]->fd();
    auto st = l.add(fd, [&, i](std::uint32_t events) {
      if (events & EPOLLERR) daemon.on_udp_errors(i, os::mono_now());
      daemon.on_udp_readable(i, os::mono_now());
      rearm();
    });
    if (!st) return fail_start(log, st.error());
  }
  if (auto st = l.add((*tun)->fd(),
                      [&](std::uint32_t) {
                        daemon.on_tun_readable(os::mono_now());
                        rearm();
                      });
      !st)
    return fail_start(log, st.error());
  l.on_timer([&] {
    daemon.on_timer(os::mono_now());
    rearm();
  });
  int stop_signal = 0;
  if (auto st = l.on_signals({SIGTERM, SIGINT, SIGHUP},
                             [&](int sig) {
                               if (sig == SIGHUP) {
                                 log.info("SIGHUP ignored: restart to change settings");
                                 return;
                               }
                               stop_signal = sig;
                               l.stop();
                             });
      !st)
    return fail_start(log, st.error());
  // Everything is set up: from here on no capability is needed (least_privilege.h).
  if (user) {
    if (auto st = become_user(*privileges, *user, {control_dir}, gateway_keeps(), log); !st)
      return fail_start(log, st.error());
  }
  rearm();

  std::string listening;
  for (const auto& sock : daemon.sockets())
    listening += " " + sock->local_endpoint().to_string();
  log.info("m6t gateway up: tun ", s.tun, " mtu ", s.mtu,
           s.pmtu_discovery ? " (path-MTU discovery)" : "", ", prefix ", s.prefix.to_string(),
           ", listening on", listening, ", control ", s.control);

  auto run = l.run();
  int status = kExitOk;
  if (!run) {
    log.error("event loop: ", run.error());
    status = kExitFailure;
  }
  daemon.shutdown(os::mono_now());
  // Leave nothing behind: the route explicitly, then the device (closing it removes it).
  // Without CAP_NET_ADMIN (--user) only the latter is possible; the route goes with it.
  if (!user) {
    if (auto st = (*net)->del_route(ifindex, s.prefix, 1024); !st)
      log.warn("remove route: ", st.error());
  }
  log.info("m6t gateway stopped", stop_signal ? std::string(" by ") + strsignal(stop_signal) : "");
  return status;
}

}  // namespace m6t::app
