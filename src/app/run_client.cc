// Wiring of the client: the IPv4 monitor, the claims, the hook runner, the TUN device and the
// per-attachment socket; the rest of a start and stop is DaemonRuntime's.
#include <sys/epoll.h>

#include "app/client_daemon.h"
#include "app/commands.h"
#include "app/daemon_runtime.h"
#include "app/fast_path.h"
#include "app/gateway_names.h"
#include "app/preflight.h"
#include "app/status_model.h"
#include "app/uplink.h"
#include "os/claims.h"
#include "os/clock.h"
#include "os/process.h"
#include "os/random.h"
#include "os/resolver.h"

namespace m6t::app {

namespace {

// The socket of each attachment: toward the gateway in use, from the uplink's address.
SocketFactory socket_factory(const ClientSettings& s) {
  return [&s](const core::Endpoint4& gateway, const core::Uplink& uplink) {
    os::UdpOptions o;
    o.bind = core::Endpoint4{uplink.address, 0};
    o.connect = gateway;
    o.device = s.uplink;  // §2.5: one client per uplink, its socket bound to it
    o.pmtu_discovery = s.engine.pmtu_discovery;
    return os::open_udp(o);
  };
}

// Each attachment's socket is watched from its creation to its replacement (§3).
void watch_attachment_sockets(DaemonRuntime& rt, ClientDaemon& daemon) {
  daemon.on_socket_change = [&rt, &daemon](int old_fd, int new_fd) {
    if (old_fd >= 0) rt.unwatch(old_fd);
    if (new_fd < 0) return;
    auto st = rt.watch(new_fd, [&daemon](std::uint32_t events) {
      if (events & EPOLLERR) daemon.on_udp_errors(os::mono_now());
      daemon.on_udp_readable(os::mono_now());
    });
    if (!st) rt.log().error("watch socket: ", st.error());
  };
}

}  // namespace

int run_client(const ClientSettings& s, ConfigReload<ClientSettings>& reload) {
  DaemonRuntime rt("client", s.log_level, s.log_target);
  if (auto st = preflight(s, *os::make_privileges()); !st) return rt.fail(st.error());
  if (auto st = rt.begin(s.user); !st) return rt.fail(st.error());
  auto monitor = os::open_ipv4_monitor();
  if (!monitor) return rt.fail(monitor.error());
  std::optional<int> uplink_index;
  if (!s.uplink.empty()) {
    auto idx = rt.net().ifindex(s.uplink);
    if (!idx) return rt.fail("--uplink " + s.uplink + ": " + idx.error());
    uplink_index = *idx;
  }
  const OwnedDir claims_dir{s.claims_dir, dir_exists(s.claims_dir), true};
  auto claims = os::FileClaims::open(s.claims_dir, s.engine.prefix);
  if (!claims) return rt.fail("--claims-dir " + s.claims_dir + ": " + claims.error());
  auto processes = os::make_process_runner();
  auto tun = rt.open_tun(s.tun, s.engine.mtu);
  if (!tun) return rt.fail(tun.error());

  FastPathStatus fast_status;
  auto fast = start_client_fast_path(s, (*tun)->ifindex(), rt.log(), fast_status);
  if (!fast) return rt.fail(fast.error());

  os::SystemRandom rng;
  ClientDaemon daemon(s, rng, **tun, rt.net(), socket_factory(s), rt.log(), os::mono_now(),
                      claims->get(), processes.get());
  daemon.use_fast_path(std::move(*fast), fast_status);
  // Gateways given by name: resolved again at each new IPv4 attachment, off the loop.
  GatewayNames names(s.gateway_specs);
  std::unique_ptr<os::Resolver> resolver;
  std::uint64_t generation = 0;
  core::Deadline resolve_deadline;
  std::optional<core::Uplink> resolved_for;
  if (names.any()) {
    auto r = os::Resolver::create();
    if (!r) return rt.fail(r.error());
    resolver = std::move(*r);
  }
  rt.set_deadline_source([&] { return core::earliest(daemon.next_deadline(), resolve_deadline); });
  watch_attachment_sockets(rt, daemon);
  ClientSettings running = s;
  if (auto st = rt.serve_control(s.control, s.control_group,
                                 [&](const std::string& request) {
                                   if (request != "show" && request != "summary")
                                     return std::string();
                                   auto j = daemon.status(os::mono_now());
                                   j["config"] = config_json(reload);
                                   return j.dump();
                                 });
      !st)
    return rt.fail(st.error());
  auto refresh_uplink = [&] {
    auto snap = (*monitor)->dump();
    if (!snap) return rt.log().warn("IPv4 state dump: ", snap.error());
    const core::Uplink up = select_uplink(*snap, uplink_index);
    daemon.on_uplink(up, os::mono_now());
    if (resolver && up.connected && (!resolved_for || !(*resolved_for == up))) {
      resolved_for = up;
      resolver->resolve(names.names(), ++generation);
      resolve_deadline = os::mono_now() + kResolveTimeout;
    }
  };
  if (auto st = rt.watch((*monitor)->fd(),
                         [&](std::uint32_t) {
                           if ((*monitor)->drain()) refresh_uplink();
                         });
      !st)
    return rt.fail(st.error());
  if (auto st =
          rt.watch((*tun)->fd(), [&](std::uint32_t) { daemon.on_tun_readable(os::mono_now()); });
      !st)
    return rt.fail(st.error());
  // The host may sleep without CLOCK_MONOTONIC noticing (client_timers.h: sleep check).
  daemon.sleep_clock = &os::boot_minus_mono;
  rt.on_timer([&] {
    const core::Time now = os::mono_now();
    if (resolve_deadline && now >= *resolve_deadline) {
      resolve_deadline.reset();
      rt.log().warn("gateway names not resolved within ", kResolveTimeout.count(),
                    " s: using the addresses they had (", names.addresses().size(), ")");
    }
    daemon.on_timer(now);
  });
  if (resolver) {
    auto st = rt.watch(resolver->fd(), [&](std::uint32_t) {
      auto answer = resolver->take();
      if (!answer || answer->generation != generation) return;
      resolve_deadline.reset();
      for (const auto& [name, why] : answer->errors)
        rt.log().warn("gateway ", name, ": not resolved (", why, "): keeping its last addresses");
      names.update(*answer);
      daemon.set_gateways(names.addresses(), os::mono_now());
    });
    if (!st) return rt.fail(st.error());
  }
  // SIGHUP: the configuration again, and the IPv4 state at once (after a resume, say).
  auto on_hup = [&] {
    rt.reload(reload, running, [&](const ClientSettings& next) {
      daemon.reconfigure(next);
      return os::OsStatus{os::Ok{}};
    });
    refresh_uplink();
  };
  if (auto st = rt.handle_signals(on_hup, [&] { daemon.on_child_exit(os::mono_now()); }); !st)
    return rt.fail(st.error());
  // The first attachment below already runs with what is kept (least_privilege.h).
  auto keep = client_keeps(!s.uplink.empty(), os::kernel_allows_unprivileged_bindtodevice());
  if (auto st = rt.drop_privileges({claims_dir}, keep); !st) return rt.fail(st.error());
  if (s.metrics_listen) {
    if (auto st = rt.serve_metrics(*s.metrics_listen); !st) return rt.fail(st.error());
  }

  const GatewaySpec& first = s.gateway_specs.front();
  rt.log().info("m6t client up: tun ", s.tun, " mtu ", s.engine.mtu,
                s.engine.pmtu_discovery ? " (path-MTU discovery)" : "", ", prefix ",
                s.engine.prefix.to_string(), ", ", s.gateway_specs.size(), " gateway(s), first ",
                first.host, ":", first.port, ", control ", s.control);
  daemon.on_sleep_offset(os::boot_minus_mono(), os::mono_now());
  refresh_uplink();
  rt.ready([&] { return client_status_line(daemon.engine()); });
  int status = rt.run();
  daemon.shutdown(os::mono_now());
  rt.log_stopped();
  return status;
}

}  // namespace m6t::app
