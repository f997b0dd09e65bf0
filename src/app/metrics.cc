#include "app/metrics.h"

#include <map>
#include <sstream>
#include <vector>

namespace m6t::app {

namespace {

using nlohmann::json;

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

struct Family {
  std::string help;
  std::string type;
  std::vector<std::string> samples;
};

class Families {
 public:
  void add(const std::string& name, const char* type, const char* help, const std::string& labels,
           double value) {
    Family& f = by_name_[name];
    if (f.type.empty()) {
      order_.push_back(name);
      f.type = type;
      f.help = help;
    }
    std::ostringstream s;
    s.precision(17);
    s << name << "{" << labels << "} " << value;
    f.samples.push_back(s.str());
  }
  std::string text() const {
    std::string out;
    for (const auto& name : order_) {
      const Family& f = by_name_.at(name);
      out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
      for (const auto& s : f.samples)
        out += s + "\n";
    }
    return out;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, Family> by_name_;
};

double number(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return v.is_number() ? v.get<double>() : 0;
}

bool is_flow(const json& v) {
  return v.is_object() && v.contains("packets") && v.contains("bytes");
}

void one_daemon(Families& m, const json& d) {
  const std::string role = d.value("role", "");
  const std::string base =
      "role=\"" + escape(role) + "\",tun=\"" + escape(d.value("tun", std::string())) + "\"";
  auto with = [&](const char* key, const std::string& value) {
    return base + "," + key + "=\"" + escape(value) + "\"";
  };
  m.add("m6t_info", "gauge", "The daemon and its version (always 1).",
        with("version", d.value("version", std::string())), 1);
  m.add("m6t_uptime_seconds", "gauge", "Seconds since the daemon started.", base,
        number(d.value("uptime_s", json(0))));
  if (d.contains("config") && d["config"].contains("loaded_unix"))
    m.add("m6t_config_loaded_timestamp_seconds", "gauge",
          "When the running configuration was loaded (start or last reload), Unix time.", base,
          number(d["config"]["loaded_unix"]));
  if (d.contains("counters"))
    for (const auto& [name, v] : d["counters"].items()) {
      if (is_flow(v)) {
        m.add("m6t_packets_total", "counter", "Packets of each flow of the daemon.",
              with("flow", name), number(v["packets"]));
        m.add("m6t_bytes_total", "counter", "Bytes of each flow of the daemon.", with("flow", name),
              number(v["bytes"]));
      } else if (name == "attachments") {
        m.add("m6t_attachments_total", "counter",
              "Attachments: a new tunnel address at each change of network or gateway (§3).", base,
              number(v));
      } else if (name == "gateway_failures") {
        m.add("m6t_gateway_failures_total", "counter",
              "Gateways taken for lost (unanswered keepalives or first packets, §2.7).", base,
              number(v));
      } else {
        m.add("m6t_events_total", "counter",
              "Other counted events (icmp_rate_limited, rate_limiter_evictions).",
              with("event", name), number(v));
      }
    }
  if (d.contains("drops"))
    for (const auto& [reason, v] : d["drops"].items())
      m.add("m6t_drops_total", "counter", "Packets dropped, by reason (named in docs).",
            with("reason", reason), number(v));
  if (d.contains("pmtu"))
    for (const auto& [event, v] : d["pmtu"].items())
      m.add("m6t_pmtu_events_total", "counter", "Path-MTU events (§2.6).", with("event", event),
            number(v));
  if (d.contains("io"))
    for (const auto& [kind, v] : d["io"].items())
      m.add("m6t_io_errors_total", "counter", "Errors of the daemon's sockets, TUN and netlink.",
            with("kind", kind), number(v));
  if (role == "gateway") {
    m.add("m6t_states", "gauge", "States held by the gateway, by kind (§3).",
          with("kind", "active"), number(d.value("states_active", json(0))));
    m.add("m6t_states", "gauge", "States held by the gateway, by kind (§3).",
          with("kind", "temporary"), number(d.value("states_temporary", json(0))));
    if (d.contains("limits"))
      m.add("m6t_states_max", "gauge", "The gateway's cap on states (--max-states).", base,
            number(d["limits"].value("max_states", json(0))));
    if (d.contains("state_stats"))
      for (const auto& [event, v] : d["state_stats"].items())
        m.add("m6t_state_events_total", "counter",
              "State creations, activations, expiries and evictions.", with("event", event),
              number(v));
  }
  if (role == "client") {
    m.add("m6t_tunnel_up", "gauge", "1 while the client has a tunnel address.", base,
          d.contains("address") && !d["address"].is_null() ? 1 : 0);
    m.add("m6t_unanswered_keepalives", "gauge", "Keepalives unanswered in a row (§2.3).", base,
          number(d.value("unanswered_keepalives", json(0))));
    if (d.contains("hook") && d["hook"].is_object())
      for (const char* k : {"started", "succeeded", "failed", "timed_out", "dropped"})
        m.add("m6t_hook_runs_total", "counter", "Runs of the client's hook, by outcome.",
              with("outcome", k), number(d["hook"].value(k, json(0))));
  }
  if (d.contains("fast_path") && d["fast_path"].is_object()) {
    const json& f = d["fast_path"];
    m.add("m6t_fast_path_active", "gauge", "1 when the eBPF fast path forwards active states.",
          base, number(f.value("active", json(false))));
    if (f.contains("mirrored_states"))
      m.add("m6t_fast_path_states", "gauge", "States mirrored into the fast path's maps.", base,
            number(f["mirrored_states"]));
  }
}

}  // namespace

std::string prometheus_text(const nlohmann::json& daemons) {
  Families m;
  if (daemons.is_array())
    for (const auto& d : daemons)
      one_daemon(m, d);
  else if (daemons.is_object())
    one_daemon(m, daemons);
  return m.text();
}

}  // namespace m6t::app
