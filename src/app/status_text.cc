#include "app/status_text.h"

#include <cstdio>
#include <sstream>

namespace m6t::app {

using nlohmann::json;

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
    << ", evicted " << st["evicted_temporary"] << ", restored " << st.value("restored", 0) << "\n";
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
