#include "app/status_model.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
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

// What both daemons' documents start with: the schema's version (docs/show.md; a change that
// removes or renames a field raises it), the time of the answer and of the start.
json header(const char* role, const std::string& tun, core::Time started, core::Time now,
            WallTime wall_now);

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

// The MTU settings of a daemon (§2.6): the configured MTU under `mtu_key`, and the mode.
void mtu_settings_json(json& j, const char* mtu_key, const core::PathMtuConfig& c) {
  j[mtu_key] = c.configured;
  j["pmtu_discovery"] = c.discovery;
  j["pmtu_age_s"] = seconds(c.age);
}

json pmtu_counters_json(const core::PmtuCounters& c) {
  return {{"frag_needed", c.frag_needed},   {"lowered", c.lowered},
          {"fragmenting", c.fragmenting},   {"not_lower", c.not_lower},
          {"unattributed", c.unattributed}, {"aged", c.aged}};
}

}  // namespace

namespace {
json header(const char* role, const std::string& tun, core::Time started, core::Time now,
            WallTime wall_now) {
  const auto start = wall_now - std::chrono::duration_cast<WallTime::duration>(now - started);
  return {{"schema_version", kShowSchemaVersion},
          {"role", role},
          {"version", kVersion},
          {"tun", tun},
          {"time", iso8601(wall_now)},
          {"time_unix", unix_seconds(wall_now)},
          {"started", iso8601(start)},
          {"started_unix", unix_seconds(start)},
          {"uptime_s", core::ms_between(started, now) / 1000}};
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

namespace {

// One state as `m6t show` lists it, relative times with their absolute ones beside.
json state_json(const core::GatewayEngine& engine, const core::PathMtuConfig& pmtu,
                const core::State& s, core::Time now, WallTime wall_now,
                const core::StateMirror* mirror) {
  const core::StateTable& table = engine.states();
  core::State seen = s;  // with what the fast path forwarded for it
  if (mirror && s.kind == core::StateKind::kActive) {
    if (auto a = mirror->activity(s)) {
      seen.from_mn.packets += a->from_mn.packets;
      seen.from_mn.bytes += a->from_mn.bytes;
      seen.to_mn.packets += a->to_mn.packets;
      seen.to_mn.bytes += a->to_mn.bytes;
      if (a->last_from_mn) seen.last_from_mn = std::max(seen.last_from_mn, *a->last_from_mn);
      if (a->last_to_mn) seen.last_to_mn = std::max(seen.last_to_mn, *a->last_to_mn);
    }
  }
  const core::Time last = std::max({seen.last_from_mn, seen.last_to_mn, s.created});
  const core::Time expires = table.deadline_of(seen);
  json e = {{"mn", s.mn.to_string()},
            {"nat", s.binding.remote.to_string()},
            {"local", s.binding.local.to_string()},
            {"kind", core::to_string(s.kind)},
            {"age_ms", core::ms_between(s.created, now)},
            {"idle_ms", core::ms_between(last, now)},
            {"expires_in_ms", core::ms_between(now, expires)},
            {"created_unix", unix_seconds(at_wall(s.created, now, wall_now))},
            {"last_packet_unix", unix_seconds(at_wall(last, now, wall_now))},
            {"expires_unix", unix_seconds(at_wall(expires, now, wall_now))},
            {"from_mn", flow_json(seen.from_mn)},
            {"to_mn", flow_json(seen.to_mn)}};
  path_mtu_json(e, s.path, pmtu, now);
  return e;
}

core::PathMtuConfig pmtu_of(const GatewaySettings& settings) {
  const core::GatewayConfig& cfg = settings.engine;
  return {cfg.mtu, cfg.pmtu_discovery, cfg.pmtu_age};
}

}  // namespace

WallTime at_wall(core::Time t, core::Time now, WallTime wall_now) {
  return wall_now - std::chrono::duration_cast<WallTime::duration>(now - t);
}

json gateway_states_page(const core::GatewayEngine& engine, const GatewaySettings& settings,
                         core::Time now, WallTime wall_now, const core::StateMirror* mirror,
                         std::uint32_t from) {
  const core::PathMtuConfig pmtu = pmtu_of(settings);
  json states = json::array();
  const std::uint32_t next =
      engine.states().for_each_from(from, kStatesPerPage, [&](const core::State& s) {
        states.push_back(state_json(engine, pmtu, s, now, wall_now, mirror));
      });
  return {{"states", std::move(states)},
          {"states_next", next == core::kNoSlot ? json(nullptr) : json(next)}};
}

json gateway_state(const core::GatewayEngine& engine, const GatewaySettings& settings,
                   core::Time now, WallTime wall_now, const core::StateMirror* mirror,
                   const core::Ipv6Addr& mn) {
  const core::State* s = engine.states().find(mn);
  return s ? state_json(engine, pmtu_of(settings), *s, now, wall_now, mirror) : json(nullptr);
}

json gateway_status(const core::GatewayEngine& engine, const GatewaySettings& settings,
                    core::Time started, core::Time now, const core::StateMirror* mirror,
                    WallTime wall_now, bool with_states) {
  json j = header("gateway", settings.tun, started, now, wall_now);
  const core::GatewayConfig& cfg = settings.engine;
  const core::PathMtuConfig pmtu{cfg.mtu, cfg.pmtu_discovery, cfg.pmtu_age};
  mtu_settings_json(j, "mtu", pmtu);
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
  if (with_states) {
    json page = gateway_states_page(engine, settings, now, wall_now, mirror, 0);
    j["states"] = std::move(page["states"]);
    j["states_next"] = std::move(page["states_next"]);
  } else {  // a summary (metrics): the states are asked for from the first slot on
    j["states"] = json::array();
    j["states_next"] = table.size() ? json(0) : json(nullptr);
  }
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
                      {"evicted_temporary", st.evicted_temporary},
                      {"restored", st.restored}};
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
                   core::Time started, core::Time now, WallTime wall_now) {
  json j = header("client", settings.tun, started, now, wall_now);
  const core::ClientConfig& cfg = settings.engine;
  const core::PathMtuConfig pmtu{cfg.mtu, cfg.pmtu_discovery, cfg.pmtu_age};
  mtu_settings_json(j, "mtu_configured", pmtu);
  path_mtu_json(j, engine.path_mtu(), pmtu, now);
  j["prefix"] = cfg.prefix.to_string();
  j["state"] = core::to_string(engine.state());
  j["liveness"] = core::to_string(engine.liveness());
  j["address"] = opt_str(engine.address());
  auto gw = engine.gateway();
  j["gateway"] = gw ? json(gw->to_string()) : json(nullptr);
  j["gateways"] = json::array();
  for (const auto& g : engine.config().gateways)
    j["gateways"].push_back(g.to_string());
  j["gateways_configured"] = json::array();
  for (const auto& g : settings.gateway_specs)
    j["gateways_configured"].push_back(g.host + ":" + std::to_string(g.port));
  const core::Uplink& u = engine.uplink();
  j["uplink"] = {{"interface", settings.uplink.empty() ? json(nullptr) : json(settings.uplink)},
                 {"connected", u.connected},
                 {"address", u.connected ? json(u.address.to_string()) : json(nullptr)},
                 {"router", u.connected ? json(u.router.to_string()) : json(nullptr)},
                 {"ifindex", u.ifindex}};
  j["keepalive_s"] = seconds(cfg.keepalive_interval);
  auto unix_at = [&](std::optional<core::Time> t) -> json {
    return t ? json(unix_seconds(at_wall(*t, now, wall_now))) : json(nullptr);
  };
  j["last_keepalive_sent_ms_ago"] = ms_ago(engine.last_keepalive_sent(), now);
  j["last_keepalive_sent_unix"] = unix_at(engine.last_keepalive_sent());
  j["last_keepalive_answered_ms_ago"] = ms_ago(engine.last_keepalive_answered(), now);
  j["last_keepalive_answered_unix"] = unix_at(engine.last_keepalive_answered());
  j["last_received_ms_ago"] = ms_ago(engine.last_received(), now);
  j["last_received_unix"] = unix_at(engine.last_received());
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
                       {"at_unix", unix_seconds(at_wall(it->at, now, wall_now))},
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

std::string gateway_status_line(const core::GatewayEngine& engine) {
  const core::StateTable& t = engine.states();
  return std::to_string(t.active_count()) + " active, " + std::to_string(t.temporary_count()) +
         " temporary states";
}

std::string client_status_line(const core::ClientEngine& engine) {
  std::string s(core::to_string(engine.state()));
  if (auto a = engine.address()) s += ": " + a->to_string();
  if (auto g = engine.gateway(); g && engine.address()) s += " via " + g->to_string();
  return s;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace m6t::app
