#include "app/fast_path.h"

#include <algorithm>

#include "app/status_model.h"

namespace m6t::app {

std::vector<int> listen_interfaces(const std::vector<core::Endpoint4>& listen,
                                   const os::Ipv4Snapshot& ipv4) {
  std::vector<int> out;
  auto add = [&](int ifindex) {
    if (ifindex > 0 && std::find(out.begin(), out.end(), ifindex) == out.end())
      out.push_back(ifindex);
  };
  for (const auto& l : listen)
    for (const auto& a : ipv4.addresses)
      if (l.addr.is_unspecified() || a.addr == l.addr) add(a.ifindex);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

template <class FastPath, class Open>
os::OsResult<std::unique_ptr<FastPath>> start(FastPathMode mode, const Logger& log,
                                              FastPathStatus& status, Open open) {
  status = {mode, false, ""};
  if (mode == FastPathMode::kOff) {
    status.reason = "--fast-path off";
    return std::unique_ptr<FastPath>{};
  }
  auto fp = open();
  if (!fp) {
    if (mode == FastPathMode::kOn) return os::OsError{"--fast-path on: " + fp.error()};
    status.reason = fp.error();
    log.warn("fast path unavailable (", fp.error(), "): every packet takes the user-space path");
    return std::unique_ptr<FastPath>{};
  }
  status.active = true;
  return fp;
}

}  // namespace

os::OsResult<std::unique_ptr<os::GatewayFastPath>> start_gateway_fast_path(const GatewaySettings& s,
                                                                           int tun_ifindex,
                                                                           const Logger& log,
                                                                           FastPathStatus& status) {
  return start<os::GatewayFastPath>(s.fast_path, log, status, [&] {
    using R = os::OsResult<std::unique_ptr<os::GatewayFastPath>>;
    auto monitor = os::open_ipv4_monitor();
    if (!monitor) return R(os::OsError{monitor.error()});
    auto ipv4 = (*monitor)->dump();
    if (!ipv4) return R(os::OsError{ipv4.error()});
    os::GatewayFastPath::Config c;
    c.tun_ifindex = tun_ifindex;
    c.mtu = s.engine.mtu;
    c.max_states = s.engine.states.max_states;
    c.listen = s.listen;
    c.home_agents = s.engine.home_agents;
    c.ingress_ifindexes = listen_interfaces(s.listen, *ipv4);
    if (c.ingress_ifindexes.empty())
      return R(os::OsError{"no interface holds a listening address"});
    auto fp = os::GatewayFastPath::open(c);
    if (fp)
      log.info("fast path: eBPF programs attached (", (*fp)->attach_mode(), ") on ",
               c.ingress_ifindexes.size(), " interface(s) and ", s.tun);
    return fp;
  });
}

os::OsResult<std::unique_ptr<os::ClientFastPath>> start_client_fast_path(const ClientSettings& s,
                                                                         int tun_ifindex,
                                                                         const Logger& log,
                                                                         FastPathStatus& status) {
  return start<os::ClientFastPath>(s.fast_path, log, status, [&] {
    auto fp = os::ClientFastPath::open({tun_ifindex, s.engine.mtu});
    if (fp) log.info("fast path: eBPF programs attached (", (*fp)->attach_mode(), ") on ", s.tun);
    return fp;
  });
}

nlohmann::json fast_path_json(const FastPathStatus& status, const os::FastPathCounters* counters,
                              const std::string& attach_mode) {
  nlohmann::json j = {
      {"mode", std::string(to_string(status.mode))},
      {"active", status.active},
      {"reason", status.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.reason)}};
  if (!counters) return j;
  j["attach"] = attach_mode;
  j["map_errors"] = counters->map_errors;
  const os::FastPathCpuCounters t = counters->total();
  j["forwarded_in"] = flow_json(t.forwarded_in);
  j["forwarded_out"] = flow_json(t.forwarded_out);
  j["passed"] = t.passed;
  j["failed"] = t.failed;
  nlohmann::json cpus = nlohmann::json::array();
  for (const auto& c : counters->per_cpu)
    cpus.push_back({{"forwarded_in", flow_json(c.forwarded_in)},
                    {"forwarded_out", flow_json(c.forwarded_out)},
                    {"passed", c.passed},
                    {"failed", c.failed}});
  j["per_cpu"] = std::move(cpus);
  return j;
}

}  // namespace m6t::app
