#include "app/status.h"

#include <cstdio>
#include <sstream>

#include "app/version.h"

namespace m6t::app {

using nlohmann::json;

namespace {

json ms_ago(std::optional<core::Time> t, core::Time now) {
  if (!t) return nullptr;
  return core::ms_between(*t, now);
}

std::int64_t seconds(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}
std::int64_t millis(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

json opt_str(const std::optional<core::Ipv6Addr>& a) {
  return a ? json(a->to_string()) : json(nullptr);
}

// A path's MTU as it applies now: a learned value past its age is shown as aged even before
// the engine next touches the path (path-MTU mode).
void path_mtu_json(json& j, core::PathMtu p, const core::PathMtuConfig& c, core::Time now) {
  p.expire(c, now);
  j["mtu"] = p.mtu;
  j["mtu_source"] = core::to_string(p.source);
  j["df"] = p.df;
  j["mtu_expires_in_ms"] = p.learned() ? json(core::ms_between(now, p.expires)) : json(nullptr);
}

json pmtu_counters_json(const core::PmtuCounters& c) {
  return {{"frag_needed", c.frag_needed},   {"lowered", c.lowered},
          {"fragmenting", c.fragmenting},   {"not_lower", c.not_lower},
          {"unattributed", c.unattributed}, {"aged", c.aged}};
}

}  // namespace

json flow_json(const core::Flow& f) {
  return {{"packets", f.packets}, {"bytes", f.bytes}};
}

json drops_json(const core::DropCounters& d) {
  json j = json::object();
  for (std::size_t i = 0; i < core::kDropCount; ++i) {
    auto r = static_cast<core::Drop>(i);
    j[std::string(core::to_string(r))] = d[r];
  }
  return j;
}

json gateway_status(const core::GatewayEngine& engine, const GatewaySettings& settings,
                    core::Time started, core::Time now) {
  json j;
  j["role"] = "gateway";
  j["version"] = kVersion;
  j["uptime_s"] = core::ms_between(started, now) / 1000;
  j["tun"] = settings.tun;
  const core::GatewayConfig& cfg = settings.engine;
  j["mtu"] = cfg.mtu;
  j["pmtu_discovery"] = cfg.pmtu_discovery;
  j["pmtu_age_s"] = seconds(cfg.pmtu_age);
  const core::PathMtuConfig pmtu{cfg.mtu, cfg.pmtu_discovery, cfg.pmtu_age};
  j["prefix"] = cfg.mn_prefix.to_string();
  j["home_agents"] = json::array();
  for (const auto& ha : cfg.home_agents)
    j["home_agents"].push_back(ha.to_string());
  j["listen"] = json::array();
  for (const auto& l : settings.listen)
    j["listen"].push_back(l.to_string());
  j["limits"] = {{"temp_lifetime_ms", millis(cfg.states.temp_lifetime)},
                 {"active_lifetime_s", seconds(cfg.states.active_lifetime)},
                 {"rate", cfg.creation_rate.rate_per_s},
                 {"burst", cfg.creation_rate.burst},
                 {"max_states", cfg.states.max_states},
                 {"max_temp_states", cfg.states.max_temp_states}};
  const core::StateTable& table = engine.states();
  json states = json::array();
  table.for_each([&](const core::State& s) {
    if (states.size() >= kMaxStatesShown) return;
    core::Time last = std::max(s.last_from_mn, s.last_to_mn);
    json e = {{"mn", s.mn.to_string()},
              {"nat", s.binding.remote.to_string()},
              {"local", s.binding.local.to_string()},
              {"kind", core::to_string(s.kind)},
              {"age_ms", core::ms_between(s.created, now)},
              {"idle_ms", core::ms_between(std::max(last, s.created), now)},
              {"expires_in_ms", core::ms_between(now, table.deadline_of(s))},
              {"from_mn", flow_json(s.from_mn)},
              {"to_mn", flow_json(s.to_mn)}};
    path_mtu_json(e, s.path, pmtu, now);
    states.push_back(std::move(e));
  });
  j["states"] = std::move(states);
  j["states_total"] = table.size();
  j["states_active"] = table.active_count();
  j["states_temporary"] = table.temporary_count();
  j["memory"] = {{"bytes_per_state", core::StateTable::bytes_per_state()},
                 {"rate_limiter_bytes", engine.rate_limiter().memory_bytes()},
                 {"rate_limiter_addresses", engine.rate_limiter().size()}};
  const auto& st = table.stats();
  j["state_stats"] = {{"created", st.created},
                      {"activated", st.activated},
                      {"expired_temporary", st.expired_temporary},
                      {"expired_active", st.expired_active},
                      {"evicted_temporary", st.evicted_temporary}};
  const auto& c = engine.counters();
  j["counters"] = {{"udp_in", flow_json(c.udp_in)},
                   {"tun_in", flow_json(c.tun_in)},
                   {"to_home", flow_json(c.to_home)},
                   {"to_mn", flow_json(c.to_mn)},
                   {"keepalives", flow_json(c.keepalives)},
                   {"too_big_sent", flow_json(c.too_big_sent)},
                   {"icmp_rate_limited", c.icmp_rate_limited},
                   {"rate_limiter_evictions", engine.rate_limiter().evictions()}};
  j["pmtu"] = pmtu_counters_json(c.pmtu);
  j["drops"] = drops_json(c.drops);
  return j;
}

json client_status(const core::ClientEngine& engine, const ClientSettings& settings,
                   core::Time started, core::Time now) {
  json j;
  j["role"] = "client";
  j["version"] = kVersion;
  j["uptime_s"] = core::ms_between(started, now) / 1000;
  j["tun"] = settings.tun;
  const core::ClientConfig& cfg = settings.engine;
  j["mtu_configured"] = cfg.mtu;
  j["pmtu_discovery"] = cfg.pmtu_discovery;
  j["pmtu_age_s"] = seconds(cfg.pmtu_age);
  path_mtu_json(j, engine.path_mtu(), {cfg.mtu, cfg.pmtu_discovery, cfg.pmtu_age}, now);
  j["prefix"] = cfg.prefix.to_string();
  j["state"] = core::to_string(engine.state());
  j["liveness"] = core::to_string(engine.liveness());
  j["address"] = opt_str(engine.address());
  auto gw = engine.gateway();
  j["gateway"] = gw ? json(gw->to_string()) : json(nullptr);
  j["gateways"] = json::array();
  for (const auto& g : cfg.gateways)
    j["gateways"].push_back(g.to_string());
  const core::Uplink& u = engine.uplink();
  j["uplink"] = {{"interface", settings.uplink.empty() ? json(nullptr) : json(settings.uplink)},
                 {"connected", u.connected},
                 {"address", u.connected ? json(u.address.to_string()) : json(nullptr)},
                 {"router", u.connected ? json(u.router.to_string()) : json(nullptr)},
                 {"ifindex", u.ifindex}};
  j["keepalive_s"] = seconds(cfg.keepalive_interval);
  j["last_keepalive_sent_ms_ago"] = ms_ago(engine.last_keepalive_sent(), now);
  j["last_keepalive_answered_ms_ago"] = ms_ago(engine.last_keepalive_answered(), now);
  j["last_received_ms_ago"] = ms_ago(engine.last_received(), now);
  j["unanswered_keepalives"] = engine.unanswered_keepalives();
  auto until = engine.backoff_until();
  j["backoff_remaining_ms"] = until ? json(core::ms_between(now, *until)) : json(nullptr);
  const auto& c = engine.counters();
  j["counters"] = {{"tun_in", flow_json(c.tun_in)},
                   {"udp_in", flow_json(c.udp_in)},
                   {"to_gateway", flow_json(c.to_gateway)},
                   {"to_host", flow_json(c.to_host)},
                   {"keepalives_sent", flow_json(c.keepalives_sent)},
                   {"keepalives_answered", flow_json(c.keepalives_answered)},
                   {"attachments", c.attachments},
                   {"gateway_failures", c.gateway_failures},
                   {"too_big_sent", flow_json(c.too_big_sent)},
                   {"icmp_rate_limited", c.icmp_rate_limited}};
  j["pmtu"] = pmtu_counters_json(c.pmtu);
  j["drops"] = drops_json(c.drops);
  json history = json::array();
  for (auto it = engine.history().rbegin(); it != engine.history().rend(); ++it) {
    history.push_back({{"ago_ms", core::ms_between(it->at, now)},
                       {"change", core::to_string(it->change)},
                       {"reason", core::to_string(it->reason)},
                       {"address", opt_str(it->address)},
                       {"old_address", opt_str(it->old_address)},
                       {"gateway", it->gateway.to_string()},
                       {"ipv4", it->ipv4 ? json(it->ipv4->to_string()) : json(nullptr)}});
  }
  j["history"] = std::move(history);
  return j;
}

// --- human-readable ---------------------------------------------------------------------------

namespace {

std::string bytes_text(std::uint64_t b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else if (b < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else if (b < 1024ull * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / (1024.0 * 1024 * 1024));
  return buf;
}

std::string flow_text(const json& f) {
  return std::to_string(f.value("packets", 0ull)) + " packets (" +
         bytes_text(f.value("bytes", 0ull)) + ")";
}

std::string ago_text(const json& ms) {
  if (ms.is_null()) return "never";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s ago", ms.get<double>() / 1000);
  return buf;
}

std::string secs_text(const json& ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", ms.get<double>() / 1000);
  return buf;
}

std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : "(none)";
}

// "mtu 1372 (icmp, DF, ages out in 599.2 s)"
std::string mtu_text(const json& j) {
  std::string t = "mtu " + j["mtu"].dump() + " (" + str(j["mtu_source"]);
  t += j.value("df", false) ? ", DF" : ", fragmentable";
  if (!j["mtu_expires_in_ms"].is_null()) t += ", ages out in " + secs_text(j["mtu_expires_in_ms"]);
  return t + ")";
}

// One line of path-MTU counters, in path-MTU mode only.
void pmtu_text(std::ostringstream& o, const json& j) {
  if (!j.value("pmtu_discovery", false)) return;
  const json& p = j["pmtu"];
  o << "  path MTU: " << p["frag_needed"] << " ICMP fragmentation needed, " << p["lowered"]
    << " lowered, " << p["fragmenting"] << " back to fragmentation, " << p["aged"] << " aged out, "
    << p["unattributed"] << " unattributed; Packet Too Big sent "
    << flow_text(j["counters"]["too_big_sent"]) << "\n";
}

void drops_text(std::ostringstream& o, const json& drops) {
  std::string line;
  for (auto& [k, v] : drops.items())
    if (v.get<std::uint64_t>() > 0) line += "  " + k + " " + std::to_string(v.get<std::uint64_t>());
  o << "  dropped:" << (line.empty() ? "  nothing" : line) << "\n";
}

std::string format_gateway(const json& j) {
  std::ostringstream o;
  o << "gateway " << str(j["tun"]) << "  (m6t " << str(j["version"]) << ", up "
    << j.value("uptime_s", 0) << " s)\n";
  o << "  listening: ";
  for (const auto& l : j["listen"])
    o << l.get<std::string>() << " ";
  o << "\n  prefix: " << str(j["prefix"]) << "   home agents: ";
  for (const auto& h : j["home_agents"])
    o << h.get<std::string>() << " ";
  o << "\n  mtu: " << j["mtu"] << (j.value("pmtu_discovery", false) ? " (path-MTU discovery)" : "")
    << "   states: " << j["states_total"] << " (" << j["states_active"] << " active, "
    << j["states_temporary"] << " temporary)\n";
  for (const auto& s : j["states"]) {
    o << "\n  state " << str(s["mn"]) << "\n";
    o << "    " << str(s["kind"]) << ", nat " << str(s["nat"]) << " -> " << str(s["local"]) << ", "
      << mtu_text(s) << "\n";
    o << "    age " << secs_text(s["age_ms"]) << ", idle " << secs_text(s["idle_ms"])
      << ", expires in " << secs_text(s["expires_in_ms"]) << "\n";
    o << "    from mn " << flow_text(s["from_mn"]) << ", to mn " << flow_text(s["to_mn"]) << "\n";
  }
  if (j["states"].size() < j["states_total"].get<std::size_t>())
    o << "\n  (" << j["states_total"].get<std::size_t>() - j["states"].size()
      << " more states not listed)\n";
  const json& c = j["counters"];
  o << "\n  to home: " << flow_text(c["to_home"]) << "\n  to MNs: " << flow_text(c["to_mn"])
    << "\n  keepalives answered: " << flow_text(c["keepalives"]) << "\n";
  const json& st = j["state_stats"];
  o << "  states created " << st["created"] << ", activated " << st["activated"] << ", expired "
    << st["expired_temporary"].get<std::uint64_t>() + st["expired_active"].get<std::uint64_t>()
    << ", evicted " << st["evicted_temporary"] << "\n";
  pmtu_text(o, j);
  drops_text(o, j["drops"]);
  return o.str();
}

std::string format_client(const json& j) {
  std::ostringstream o;
  o << "client " << str(j["tun"]) << "  (m6t " << str(j["version"]) << ", up "
    << j.value("uptime_s", 0) << " s)\n";
  o << "  state: " << str(j["state"]) << "   gateway: " << str(j["gateway"]) << " ("
    << str(j["liveness"]) << ")\n";
  o << "  address: " << str(j["address"]) << "   prefix: " << str(j["prefix"]) << "\n  "
    << mtu_text(j) << "\n";
  const json& u = j["uplink"];
  o << "  uplink: " << (u["interface"].is_null() ? std::string() : str(u["interface"]) + " ")
    << (u.value("connected", false) ? str(u["address"]) + " via " + str(u["router"])
                                    : std::string("no IPv4 connectivity"))
    << "\n";
  o << "  keepalive every " << j["keepalive_s"] << " s when idle; last sent "
    << ago_text(j["last_keepalive_sent_ms_ago"]) << ", last answered "
    << ago_text(j["last_keepalive_answered_ms_ago"]) << "\n";
  const json& c = j["counters"];
  o << "  to gateway: " << flow_text(c["to_gateway"]) << "\n  to host: " << flow_text(c["to_host"])
    << "\n  attachments: " << c["attachments"] << ", gateway failures: " << c["gateway_failures"]
    << "\n";
  pmtu_text(o, j);
  drops_text(o, j["drops"]);
  if (const json& h = j["hook"]; h.is_object())
    o << "  hook " << str(h["path"]) << ": " << h["started"] << " runs, " << h["failed"]
      << " failed (" << h["timed_out"] << " timed out)"
      << (h["running"].get<bool>() ? ", running" : "") << "\n";
  if (!j["history"].empty()) o << "  history (newest first):\n";
  for (const auto& h : j["history"]) {
    o << "    " << ago_text(h["ago_ms"]) << "  " << str(h["change"]) << " (" << str(h["reason"])
      << ")  " << (h["address"].is_null() ? "-" : str(h["address"]));
    if (!h["old_address"].is_null()) o << "  was " << str(h["old_address"]);
    o << "  via " << str(h["gateway"]);
    if (!h["ipv4"].is_null()) o << " from " << str(h["ipv4"]);
    o << "\n";
  }
  return o.str();
}

}  // namespace

std::string format_status(const json& status) {
  if (status.value("role", "") == "gateway") return format_gateway(status);
  if (status.value("role", "") == "client") return format_client(status);
  return status.dump(2) + "\n";
}

}  // namespace m6t::app
