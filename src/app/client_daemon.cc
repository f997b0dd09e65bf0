#include "app/client_daemon.h"

#include "app/status_model.h"

namespace m6t::app {

namespace {
// The tunnel address is a host address: the MN reaches everything through the default route,
// and nothing is on-link behind a point-to-point tunnel.
constexpr unsigned kAddressPrefixLen = 128;
const core::Ipv6Prefix kDefaultRoute{};
// §2.5: an MN may run one tunnel per uplink. A default route from each tunnel address
// through its own tunnel keeps every packet from that address on the tunnel whose gateway
// state holds it (any other gateway state would drop it, §6.1.3), whichever tunnel holds the
// plain default route.
core::Ipv6Prefix host(const core::Ipv6Addr& a) {
  return {a, kAddressPrefixLen};
}
}  // namespace

ClientDaemon::ClientDaemon(const ClientSettings& settings, core::RandomSource& rng,
                           os::TunDevice& tun, os::NetConfig& net, SocketFactory sockets,
                           const Logger& log, core::Time now, core::Random48Claims* claims,
                           os::ProcessRunner* processes)
    : settings_(settings),
      engine_(settings.engine, rng, claims),
      tun_(tun),
      net_(net),
      make_socket_(std::move(sockets)),
      log_(log),
      started_(now),
      datapath_(engine_, tun, drops_) {
  if (!settings_.hook.empty() && processes)
    hook_.emplace(settings_.hook, settings_.hook_timeout, *processes, log_);
}

void ClientDaemon::check(const os::OsStatus& st, const char* what) {
  if (st) return;
  ++control_.netlink_errors;
  log_.error(what, ": ", st.error());
}

void ClientDaemon::use_fast_path(std::unique_ptr<os::ClientFastPath> fast, FastPathStatus status) {
  fast_ = std::move(fast);
  fast_status_ = std::move(status);
  engine_.set_mirror(fast_.get());
}

void ClientDaemon::replace_socket(std::unique_ptr<os::UdpSocket> s) {
  int old_fd = socket_fd();
  socket_ = std::move(s);
  if (fast_) {
    // The attachment's socket and uplink are what the fast path sends from (§3).
    auto st = socket_ ? fast_->set_attachment(socket_->local_endpoint(),
                                              static_cast<int>(engine_.uplink().ifindex))
                      : fast_->set_attachment({}, 0);
    if (!st) log_.warn("fast path: ", st.error());
  }
  if (on_socket_change) on_socket_change(old_fd, socket_fd());
}

void ClientDaemon::withdraw(int ifindex, const core::Ipv6Addr& address) {
  check(net_.del_route(ifindex, kDefaultRoute, settings_.route_metric, host(address)),
        "remove source route of the old tunnel address");
  check(net_.del_address(ifindex, address, kAddressPrefixLen), "remove old tunnel address");
}

void ClientDaemon::apply_events(core::Time now) {
  while (auto ev = engine_.next_event()) {
    int ifindex = tun_.ifindex();
    if (ev->address) {
      // Make before break: the new address is in place before the old one goes, so that the
      // host never sits without a source address for the tunnel.
      check(net_.add_address(ifindex, *ev->address, kAddressPrefixLen), "add tunnel address");
      check(net_.add_route(ifindex, kDefaultRoute, settings_.route_metric, host(*ev->address)),
            "add source route of the tunnel address");
      if (ev->old_address) withdraw(ifindex, *ev->old_address);
      if (settings_.default_route && !route_installed_) {
        // §2.7: with a metric, so that a native IPv6 default route stays preferred.
        check(net_.add_route(ifindex, kDefaultRoute, settings_.route_metric),
              "add IPv6 default route");
        route_installed_ = true;
      }
      // §3: "A UDP socket is created for further emission to the GW": a fresh one, hence a
      // fresh NAT mapping, for every attachment.
      replace_socket(nullptr);
      auto s = make_socket_(ev->gateway, engine_.uplink());
      if (s) {
        replace_socket(std::move(*s));
      } else {
        ++control_.socket_errors;
        log_.error("socket to gateway ", ev->gateway.to_string(), ": ", s.error());
      }
      // A failover (the gateway in use stopped answering) is for the operator to see.
      const bool failover = ev->reason == core::AttachReason::kGatewayUnreachable ||
                            ev->reason == core::AttachReason::kGatewayLost;
      log_.at(failover ? LogLevel::kWarn : LogLevel::kInfo, "tunnel ", core::to_string(ev->change),
              " (", core::to_string(ev->reason), "): ", ev->address->to_string(),
              ev->old_address ? " replaces " + ev->old_address->to_string() : std::string(),
              " via gateway ", ev->gateway.to_string());
    } else {
      // §3: no IPv4 connectivity, no tunnel address and no default route through it.
      if (route_installed_) {
        check(net_.del_route(ifindex, kDefaultRoute, settings_.route_metric),
              "remove IPv6 default route");
        route_installed_ = false;
      }
      if (ev->old_address) withdraw(ifindex, *ev->old_address);
      replace_socket(nullptr);
      log_.info(
          "tunnel down (", core::to_string(ev->reason), ")",
          ev->old_address ? ": " + ev->old_address->to_string() + " withdrawn" : std::string());
    }
    // After the change is in place, so that the hook sees the system as its environment says.
    if (hook_)
      hook_->notify(*ev,
                    {settings_.tun, settings_.engine.mtu, settings_.engine.prefix, settings_.uplink,
                     engine_.uplink()},
                    now);
  }
  // Every gateway failed (§2.1 entries, §2.7 liveness): once per round of back-off.
  const bool backoff = engine_.state() == core::ClientState::kBackoff;
  if (backoff && !in_backoff_) {
    auto until = engine_.backoff_until();
    log_.warn("all ", engine_.config().gateways.size(), " gateway address(es) unreachable; next ",
              "round in ", until ? core::ms_between(now, *until) : 0, " ms");
  }
  in_backoff_ = backoff;
}

void ClientDaemon::on_uplink(const core::Uplink& uplink, core::Time now) {
  engine_.set_uplink(uplink, now);
  apply_events(now);
}

void ClientDaemon::on_sleep_offset(core::Duration boot_minus_mono, core::Time now) {
  engine_.observe_sleep_offset(boot_minus_mono, now);
  apply_events(now);
}

void ClientDaemon::on_tun_readable(core::Time now) {
  datapath_.on_tun_readable(socket_.get(), now);
}

void ClientDaemon::on_udp_readable(core::Time now) {
  if (!socket_) return;
  datapath_.on_udp_readable(*socket_, now);
  apply_events(now);
}

void ClientDaemon::on_udp_errors(core::Time now) {
  if (socket_) datapath_.on_udp_errors(*socket_, now);
}

void ClientDaemon::on_timer(core::Time now) {
  if (sleep_clock && engine_.sleep_check_due(now)) engine_.observe_sleep_offset(sleep_clock(), now);
  if (engine_.expire(now) && socket_) datapath_.send_keepalive(*socket_);
  apply_events(now);
  if (hook_) hook_->on_timer(now);
  drops_.report(engine_.counters().drops, now, log_);
}

void ClientDaemon::on_child_exit(core::Time now) {
  if (hook_) hook_->on_child_exit(now);
}

void ClientDaemon::shutdown(core::Time now) {
  engine_.shutdown(now);
  apply_events(now);
  if (hook_) hook_->drain();  // the "down" run too: a firewall script must see it
  drops_.flush(engine_.counters().drops, now, log_);
}

core::Deadline ClientDaemon::next_deadline() const {
  core::Deadline d = core::earliest(engine_.next_deadline(), drops_.next_deadline());
  return hook_ ? core::earliest(d, hook_->next_deadline()) : d;
}

nlohmann::json ClientDaemon::status(core::Time now) const {
  nlohmann::json j = client_status(engine_, settings_, started_, now);
  j["socket"] = socket_ ? nlohmann::json(socket_->local_endpoint().to_string()) : nullptr;
  if (fast_) {
    const os::FastPathCounters c = fast_->counters();
    if (auto a = fast_->activity()) {
      // The engine's counters and the fast path's together, as without it.
      auto add = [&](const char* key, const core::Flow& f) {
        auto& x = j["counters"][key];
        x["packets"] = x.value("packets", std::uint64_t{0}) + f.packets;
        x["bytes"] = x.value("bytes", std::uint64_t{0}) + f.bytes;
      };
      add("to_gateway", a->to_gateway);
      add("tun_in", a->to_gateway);
      add("to_host", a->to_host);
      add("udp_in", a->to_host);
    }
    j["fast_path"] = fast_path_json(fast_status_, &c, fast_->attach_mode());
    j["fast_path"]["tunnel_active"] = fast_->active();
  } else {
    j["fast_path"] = fast_path_json(fast_status_, nullptr, "");
  }
  j["io"] = io_json(datapath_.counters());
  j["io"]["netlink_errors"] = control_.netlink_errors;
  j["io"]["socket_errors"] = control_.socket_errors;
  if (hook_) {
    const HookCounters& h = hook_->counters();
    j["hook"] = {{"path", hook_->path()},     {"running", hook_->running()},
                 {"queued", hook_->queued()}, {"started", h.started},
                 {"succeeded", h.succeeded},  {"failed", h.failed},
                 {"timed_out", h.timed_out},  {"dropped", h.dropped}};
  } else {
    j["hook"] = nullptr;
  }
  return j;
}

void ClientDaemon::reconfigure(const ClientSettings& next) {
  engine_.reconfigure(next.engine);
  settings_.engine = engine_.config();
  settings_.log_level = next.log_level;
}

void ClientDaemon::set_gateways(std::vector<core::Endpoint4> gateways, core::Time now) {
  engine_.set_gateways(std::move(gateways), now);
  apply_events(now);
}

}  // namespace m6t::app
