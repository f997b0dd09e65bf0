// Wiring of the gateway: its listening sockets, the TUN device and the MN-prefix route; the
// rest of a start and stop is DaemonRuntime's.
#include <sys/epoll.h>
#include <sys/stat.h>

#include <algorithm>

#include "app/announcer.h"
#include "app/commands.h"
#include "app/daemon_runtime.h"
#include "app/fast_path.h"
#include "app/gateway_daemon.h"
#include "app/preflight.h"
#include "app/status_model.h"
#include "os/clock.h"
#include "os/fs.h"
#include "os/random.h"
#include "os/sysctl.h"

namespace m6t::app {

namespace {

// §2.4: the MN prefix is routed into the tunnel, with the device's life (both go together).
constexpr std::uint32_t kPrefixRouteMetric = 1024;

// Decision: a gateway whose namespace does not forward IPv6 forwards nothing at all, yet every
// MN would see its first packets vanish; it starts (forwarding may be switched on later) but
// says so.
void warn_if_not_forwarding(const Logger& log) {
  auto v = os::read_sysctl("net.ipv6.conf.all.forwarding");
  if (v && *v == "0")
    log.warn("IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0): nothing will be ",
             "forwarded between MNs and the home side until it is on");
}

}  // namespace

int run_gateway(const GatewaySettings& s, ConfigReload<GatewaySettings>& reload) {
  DaemonRuntime rt("gateway", s.log_level, s.log_target);
  if (auto st = preflight(s, *os::make_privileges()); !st) return rt.fail(st.error());
  if (auto st = rt.begin(s.user); !st) return rt.fail(st.error());
  std::vector<std::unique_ptr<os::UdpSocket>> sockets;
  for (const auto& l : s.listen) {
    os::UdpOptions o;
    o.bind = l;
    o.pmtu_discovery = s.engine.pmtu_discovery;
    auto sock = os::open_udp(o);
    if (!sock) return rt.fail("--listen " + l.to_string() + ": " + sock.error());
    sockets.push_back(std::move(*sock));
  }
  // The TUN device goes last: once it exists, every failure path must remove what we added,
  // which its destructor (the device and its routes disappear with it) takes care of.
  auto tun = rt.open_tun(s.tun, s.engine.mtu);
  if (!tun) return rt.fail(tun.error());
  const int ifindex = (*tun)->ifindex();
  const auto& prefix = s.engine.mn_prefix;
  if (auto st = rt.net().add_route(ifindex, prefix, kPrefixRouteMetric); !st)
    return rt.fail(st.error());

  FastPathStatus fast_status;
  auto fast = start_gateway_fast_path(s, ifindex, rt.log(), fast_status);
  if (!fast) return rt.fail(fast.error());

  // The state directory (0700), given to --user at the drop when this start made it or it is
  // the default one; the saved states come back before anything is served.
  StateStore store(s.state_dir, s.tun);
  std::vector<OwnedDir> owned;
  if (store.enabled()) {
    const bool existed = dir_exists(store.dir());
    if (!existed) {
      if (auto st = os::make_dirs(store.dir()); !st) return rt.fail("--state-dir: " + st.error());
      if (::chmod(store.dir().c_str(), 0700) < 0)
        return rt.fail("--state-dir: " + os::errno_error("chmod " + store.dir()).message);
    }
    owned.push_back(OwnedDir{store.dir(), existed, false});
  }

  os::SystemRandom rng;
  GatewayDaemon daemon(s, rng, **tun, std::move(sockets), rt.log(), os::mono_now());
  daemon.use_fast_path(std::move(*fast), fast_status);
  if (store.enabled()) daemon.use_state_store(store, os::mono_now());
  GatewaySettings running = s;
  if (auto st = rt.serve_control(s.control, s.control_group,
                                 [&](const std::string& request) {
                                   if (request != "show" && request != "summary")
                                     return daemon.answer(request, os::mono_now());
                                   auto j = daemon.status(os::mono_now(), request == "show");
                                   j["config"] = config_json(reload);
                                   return j.dump();
                                 });
      !st)
    return rt.fail(st.error());
  rt.set_deadline_source([&] { return daemon.next_deadline(); });
  auto watch_listener = [&](std::size_t i) {
    return rt.watch(daemon.sockets()[i]->fd(), [&, i](std::uint32_t events) {
      if (events & EPOLLERR) daemon.on_udp_errors(i, os::mono_now());
      daemon.on_udp_readable(i, os::mono_now());
    });
  };
  for (std::size_t i = 0; i < daemon.sockets().size(); ++i) {
    if (auto st = watch_listener(i); !st) return rt.fail(st.error());
  }
  if (auto st =
          rt.watch((*tun)->fd(), [&](std::uint32_t) { daemon.on_tun_readable(os::mono_now()); });
      !st)
    return rt.fail(st.error());
  rt.on_timer([&] { daemon.on_timer(os::mono_now()); });
  // A reload's listen addresses (§2.1): those gone are closed with their states, those new
  // opened (after the privilege drop: a port below 1024 then needs a restart).
  auto apply_listen = [&](const std::vector<core::Endpoint4>& want) -> std::string {
    std::string failed;
    const auto& socks = daemon.sockets();
    for (std::size_t i = 0; i < socks.size(); ++i) {
      if (!socks[i] ||
          std::find(want.begin(), want.end(), socks[i]->local_endpoint()) != want.end())
        continue;
      const std::string gone = socks[i]->local_endpoint().to_string();
      rt.unwatch(socks[i]->fd());
      const std::size_t n = daemon.remove_listener(i);
      rt.log().warn("no longer listening on ", gone, ": ", n, " state(s) of it removed");
    }
    for (const auto& e : want) {
      bool have = std::any_of(socks.begin(), socks.end(), [&](const auto& sock) {
        return sock && sock->local_endpoint() == e;
      });
      if (have) continue;
      os::UdpOptions o;
      o.bind = e;
      o.pmtu_discovery = s.engine.pmtu_discovery;
      auto sock = os::open_udp(o);
      if (!sock) {
        failed +=
            (failed.empty() ? "" : "; ") + ("--listen " + e.to_string() + ": " + sock.error());
        continue;
      }
      const std::size_t i = daemon.add_listener(std::move(*sock));
      if (auto st = watch_listener(i); !st) {
        failed += (failed.empty() ? "" : "; ") + st.error();
        continue;
      }
      rt.log().info("listening on ", e.to_string());
    }
    return failed;
  };
  auto on_hup = [&] {
    rt.reload(reload, running, [&](const GatewaySettings& next) -> os::OsStatus {
      std::string failed = apply_listen(next.listen);
      auto st = daemon.reconfigure(next);
      if (!st) failed += (failed.empty() ? "" : "; ") + st.error();
      if (!failed.empty()) return os::OsError{failed};
      return os::Ok{};
    });
  };
  if (auto st = rt.handle_signals(on_hup); !st) return rt.fail(st.error());
  // Everything is set up: from here on no capability is needed (least_privilege.h).
  if (auto st = rt.drop_privileges(owned, gateway_keeps(!s.announce.empty())); !st)
    return rt.fail(st.error());
  if (s.metrics_listen) {
    if (auto st = rt.serve_metrics(*s.metrics_listen); !st) return rt.fail(st.error());
  }

  std::string listening;
  for (const auto& sock : daemon.sockets())
    if (sock) listening += " " + sock->local_endpoint().to_string();
  rt.log().info("m6t gateway up: tun ", s.tun, " mtu ", s.engine.mtu,
                s.engine.pmtu_discovery ? " (path-MTU discovery)" : "", ", prefix ",
                prefix.to_string(), ", listening on", listening, ", control ", s.control);
  warn_if_not_forwarding(rt.log());

  // Slices (--announce): their routes go into the announce table once everything serves, so
  // that the routing daemon draws traffic here only then; a stop withdraws them first, then
  // serves on for --drain-ms while the routers move the slices elsewhere. A crash leaves no
  // route behind: they go with the TUN device.
  Announcer announcer(rt.net(), ifindex, s, rt.log());
  if (auto st = announcer.announce(); !st) return rt.fail(st.error());
  rt.set_drain(s.drain, [&] {
    announcer.withdraw();
    rt.log().info("draining for ", s.drain.count(), " ms");
  });
  rt.ready([&] { return gateway_status_line(daemon.engine()); });
  int status = rt.run();
  announcer.withdraw();
  daemon.shutdown(os::mono_now());
  // Leave nothing behind: the route explicitly, then the device (closing it removes it).
  // Without CAP_NET_ADMIN (--user) only the latter is possible; the route goes with it.
  if (!rt.has_user()) {
    if (auto st = rt.net().del_route(ifindex, prefix, kPrefixRouteMetric); !st)
      rt.log().warn("remove route: ", st.error());
  }
  rt.log_stopped();
  return status;
}

}  // namespace m6t::app
