#include "app/settings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/wire.h"

namespace m6t::app {

namespace {

using core::Endpoint4;
using core::Ipv6Addr;
using core::Ipv6Prefix;

const std::vector<OptionSpec> kGatewayOptions = {
    {"listen", OptionKind::kList, "ADDR:PORT",
     "address and UDP port to serve MNs on (repeatable; §2.1: any port, e.g. 4500, 53, 3544)"},
    {"prefix", OptionKind::kValue, "PREFIX",
     "the MN prefix routed to the gateway (e.g. a ULA /48)"},
    {"home-agent", OptionKind::kList, "ADDR",
     "home agent address (repeatable): the only allowed "
     "destination of MN traffic (§6.1.3)"},
    {"tun", OptionKind::kValue, "NAME", "TUN device name (default m6tgw0)"},
    {"mtu", OptionKind::kValue, "N", "tunnel MTU (default 1472, §2.6)"},
    {"pmtu-discovery", OptionKind::kFlag, "",
     "set the outer DF bit and lower an MN's MTU on ICMP fragmentation needed (§2.6)"},
    {"pmtu-age-s", OptionKind::kValue, "N",
     "a learned path MTU is probed upward again after N s (default 600)"},
    {"temp-lifetime-ms", OptionKind::kValue, "N",
     "lifetime of a temporary state (default 1000 ms, §2.4)"},
    {"active-lifetime-s", OptionKind::kValue, "N",
     "idle lifetime of an active state (default 90 s, §6.1.3)"},
    {"rate", OptionKind::kValue, "N", "state creations per second per IPv4 address (default 10)"},
    {"burst", OptionKind::kValue, "N", "state creations at once per IPv4 address (default 20)"},
    {"max-states", OptionKind::kValue, "N", "cap on states (default 262144)"},
    {"max-temp-states", OptionKind::kValue, "N", "cap on temporary states (default 65536)"},
    {"control", OptionKind::kValue, "PATH", "control socket (default /run/m6t/gateway-<tun>.sock)"},
    {"user", OptionKind::kValue, "NAME",
     "after setup, run as this user with no capability (default: stay root)"},
    {"log-level", OptionKind::kValue, "LEVEL", "error, warn, info or debug (default info)"},
};

const std::vector<OptionSpec> kClientOptions = {
    {"gateway", OptionKind::kList, "ADDR:PORT",
     "tunnel gateway (repeatable: tried in order, §2.1)"},
    {"prefix", OptionKind::kValue, "PREFIX/80", "this MN's /80 (see `m6t prefix`, §2.2)"},
    {"tun", OptionKind::kValue, "NAME", "TUN device name (default m6t0)"},
    {"mtu", OptionKind::kValue, "N", "tunnel MTU (default 1472, §2.6)"},
    {"pmtu-discovery", OptionKind::kFlag, "",
     "set the outer DF bit and lower the tunnel MTU on ICMP fragmentation needed (§2.6)"},
    {"pmtu-age-s", OptionKind::kValue, "N",
     "a learned path MTU is probed upward again after N s (default 600)"},
    {"keepalive-s", OptionKind::kValue, "N", "keepalive interval when idle (default 30 s, §2.3)"},
    {"keepalive-misses", OptionKind::kValue, "N",
     "keepalives unanswered in a row before the gateway is taken for lost (default 3, §2.7)"},
    {"debounce-ms", OptionKind::kValue, "N",
     "an IPv4 change is acted on once stable this long (default 250 ms, §3)"},
    {"backoff-max-s", OptionKind::kValue, "N",
     "longest wait between rounds of gateways when none answers (default 64 s)"},
    {"uplink", OptionKind::kValue, "IFNAME",
     "IPv4 interface to use (default: that of the default route)"},
    {"route-metric", OptionKind::kValue, "N",
     "metric of the IPv6 default route through the tunnel (default 4096, §2.7)"},
    {"no-default-route", OptionKind::kFlag, "", "do not install an IPv6 default route"},
    {"hook", OptionKind::kValue, "PATH",
     "program run on every tunnel change, with M6T_STATE, M6T_ADDRESS... in its environment"},
    {"hook-timeout-s", OptionKind::kValue, "N",
     "a hook still running after N s is killed (default 10)"},
    {"claims-dir", OptionKind::kValue, "DIR",
     "lock files keeping clients that share a /80 on different values (default /run/m6t/claims, "
     "§2.5)"},
    {"control", OptionKind::kValue, "PATH", "control socket (default /run/m6t/client-<tun>.sock)"},
    {"user", OptionKind::kValue, "NAME",
     "after setup, run as this user keeping only CAP_NET_ADMIN (default: stay root)"},
    {"log-level", OptionKind::kValue, "LEVEL", "error, warn, info or debug (default info)"},
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& key, const std::vector<OptionSpec>& specs) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& s : specs) {
    std::size_t d = edit_distance(key, s.name);
    if (d < best_d) {
      best_d = d;
      best = s.name;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line);
}

std::optional<std::string> scalar_text(const toml::node& n) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_floating_point()) {
    std::ostringstream o;
    o << *n.value<double>();
    return o.str();
  }
  return std::nullopt;
}

// --- validation helpers ---------------------------------------------------------------------

std::string quote(const std::string& name, const RawValue& raw, const std::string& value) {
  if (raw.origin.rfind("--", 0) == 0) return raw.origin + " " + value;
  return raw.origin + ": " + name + " = \"" + value + "\"";
}

SettingsError bad(const std::string& name, const RawValue& raw, const std::string& value,
                  const std::string& why) {
  return {quote(name, raw, value) + ": " + why};
}

const RawValue* find(const RawOptions& raw, const std::string& name) {
  auto it = raw.find(name);
  return it == raw.end() || it->second.values.empty() ? nullptr : &it->second;
}

SettingsError missing(const std::string& name) {
  return {"missing --" + name + " (or '" + name + "' in the config file)"};
}

std::optional<SettingsError> get_uint(const RawOptions& raw, const std::string& name,
                                      std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  const RawValue* r = find(raw, name);
  if (!r) return std::nullopt;
  const std::string& v = r->values.back();
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < lo || n > hi)
    return bad(name, *r, v,
               "not a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  out = n;
  return std::nullopt;
}

template <class T>
std::optional<SettingsError> get_uint_as(const RawOptions& raw, const std::string& name,
                                         std::uint64_t lo, std::uint64_t hi, T& out) {
  std::uint64_t n = static_cast<std::uint64_t>(out);
  if (auto e = get_uint(raw, name, lo, hi, n)) return e;
  out = static_cast<T>(n);
  return std::nullopt;
}

std::optional<SettingsError> get_endpoints(const RawOptions& raw, const std::string& name,
                                           std::vector<Endpoint4>& out) {
  const RawValue* r = find(raw, name);
  if (!r) return missing(name);
  out.clear();
  for (const auto& v : r->values) {
    auto e = Endpoint4::parse(v);
    if (!e) return bad(name, *r, v, "not an IPv4 ADDR:PORT (e.g. 203.0.113.2:4500)");
    if (std::find(out.begin(), out.end(), *e) != out.end()) return bad(name, *r, v, "given twice");
    out.push_back(*e);
  }
  return std::nullopt;
}

std::optional<SettingsError> get_prefix(const RawOptions& raw, Ipv6Prefix& out) {
  const RawValue* r = find(raw, "prefix");
  if (!r) return missing("prefix");
  const std::string& v = r->values.back();
  auto p = Ipv6Prefix::parse(v);
  if (!p) return bad("prefix", *r, v, std::string(core::prefix_parse_error(v)));
  if (p->addr.is_multicast() || p->addr.is_link_local() || p->addr.is_v4_mapped() || p->len < 8)
    return bad("prefix", *r, v, "not a unicast prefix an MN can be addressed from");
  out = *p;
  return std::nullopt;
}

std::optional<SettingsError> get_string(const RawOptions& raw, const std::string& name,
                                        std::string& out) {
  if (const RawValue* r = find(raw, name)) out = r->values.back();
  return std::nullopt;
}

std::optional<SettingsError> get_ifname(const RawOptions& raw, const std::string& name,
                                        std::string& out) {
  const RawValue* r = find(raw, name);
  if (!r) return std::nullopt;
  const std::string& v = r->values.back();
  // IFNAMSIZ - 1, and what the kernel's dev_valid_name() refuses.
  bool ok = !v.empty() && v.size() <= 15 && v != "." && v != ".." &&
            std::none_of(v.begin(), v.end(), [](char c) {
              return c == '/' || c == ':' || c == '%' || c <= ' ' || c == 127;
            });
  if (!ok)
    return bad(name, *r, v, "not an interface name (1 to 15 characters, no '/', ':' or spaces)");
  out = v;
  return std::nullopt;
}

template <class Settings>
std::optional<SettingsError> get_pmtu(const RawOptions& raw, Settings& out) {
  out.pmtu_discovery = find(raw, "pmtu-discovery") != nullptr;
  std::uint64_t age = static_cast<std::uint64_t>(out.pmtu_age.count());
  if (auto e = get_uint(raw, "pmtu-age-s", 1, 86400, age)) return e;
  out.pmtu_age = std::chrono::seconds(age);
  return std::nullopt;
}

std::optional<SettingsError> get_log_level(const RawOptions& raw, std::string& out) {
  const RawValue* r = find(raw, "log-level");
  if (!r) return std::nullopt;
  const std::string& v = r->values.back();
  if (v != "error" && v != "warn" && v != "info" && v != "debug")
    return bad("log-level", *r, v, "not one of error, warn, info, debug");
  out = v;
  return std::nullopt;
}

}  // namespace

const std::vector<OptionSpec>& gateway_options() {
  return kGatewayOptions;
}
const std::vector<OptionSpec>& client_options() {
  return kClientOptions;
}

std::optional<SettingsError> config_sections(const std::string& path,
                                             std::vector<std::string>& out) {
  try {
    toml::table doc = toml::parse_file(path);
    for (auto&& [key, node] : doc) {
      std::string k(key.str());
      if ((k == "gateway" || k == "client") && node.is_table()) {
        out.push_back(k);
      } else {
        return SettingsError{where(path, node.source()) + ": unknown table '" + k +
                             "' (expected [gateway] or [client])"};
      }
    }
  } catch (const toml::parse_error& e) {
    return SettingsError{path + ":" + std::to_string(e.source().begin.line) + ": " +
                         std::string(e.description())};
  }
  if (out.empty()) return SettingsError{path + ": no [gateway] or [client] table"};
  return std::nullopt;
}

std::optional<SettingsError> load_config(const std::string& path, const std::string& section,
                                         const std::vector<OptionSpec>& specs, RawOptions& out) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    if (e.source().begin.line == 0) return SettingsError{path + ": " + what};
    return SettingsError{path + ":" + std::to_string(e.source().begin.line) + ": " + what};
  }
  const toml::table* table = doc[section].as_table();
  if (!table) return SettingsError{path + ": no [" + section + "] table"};
  for (auto&& [key, node] : *table) {
    std::string k(key.str());
    std::replace(k.begin(), k.end(), '_', '-');
    auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return k == s.name; });
    std::string at = where(path, node.source());
    if (spec == specs.end())
      return SettingsError{at + ": unknown key '" + std::string(key.str()) + "' in [" + section +
                           "]" + suggestion(k, specs)};
    RawValue raw{{}, at};
    if (spec->kind == OptionKind::kFlag) {
      auto b = node.value<bool>();
      if (!b) return SettingsError{at + ": " + k + ": expected true or false"};
      if (*b) raw.values.push_back("true");
    } else if (const toml::array* arr = node.as_array()) {
      if (spec->kind != OptionKind::kList)
        return SettingsError{at + ": " + k + ": takes one value, not a list"};
      for (auto&& item : *arr) {
        auto text = scalar_text(item);
        if (!text) return SettingsError{at + ": " + k + ": list items must be strings or numbers"};
        raw.values.push_back(*text);
      }
    } else {
      auto text = scalar_text(node);
      if (!text) return SettingsError{at + ": " + k + ": expected a string or a number"};
      raw.values.push_back(*text);
    }
    out[k] = std::move(raw);
  }
  return std::nullopt;
}

RawOptions merge(RawOptions from_config, const RawOptions& from_cli) {
  for (const auto& [k, v] : from_cli)
    if (!v.values.empty()) from_config[k] = v;
  return from_config;
}

std::optional<SettingsError> validate(const RawOptions& raw, GatewaySettings& out) {
  if (auto e = get_endpoints(raw, "listen", out.listen)) return e;
  for (const auto& l : out.listen)
    if (l.addr.value >> 28 == 0xe)
      return SettingsError{"--listen " + l.to_string() + ": a multicast address cannot be served"};
  if (auto e = get_prefix(raw, out.prefix)) return e;
  if (out.prefix.len > wire::kMnPrefixLen) {
    const RawValue* r = find(raw, "prefix");
    return bad("prefix", *r, r->values.back(), "longer than /80: no MN /80 fits in it (§2.2)");
  }
  const RawValue* has = find(raw, "home-agent");
  if (!has) return missing("home-agent");
  out.home_agents.clear();
  for (const auto& v : has->values) {
    auto a = Ipv6Addr::parse(v);
    if (!a) return bad("home-agent", *has, v, "not an IPv6 address");
    if (a->is_multicast() || a->is_link_local() || a->is_unspecified() || a->is_loopback())
      return bad("home-agent", *has, v, "not a unicast address");
    if (out.prefix.contains(*a))
      return bad("home-agent", *has, v, "inside the MN prefix " + out.prefix.to_string());
    out.home_agents.push_back(*a);
  }
  if (auto e = get_ifname(raw, "tun", out.tun)) return e;
  if (auto e = get_uint_as(raw, "mtu", wire::kMinIpv6Mtu, wire::kMaxMtu, out.mtu)) return e;
  if (auto e = get_pmtu(raw, out)) return e;
  std::uint64_t ms = static_cast<std::uint64_t>(out.temp_lifetime.count());
  if (auto e = get_uint(raw, "temp-lifetime-ms", 1, 600000, ms)) return e;
  out.temp_lifetime = std::chrono::milliseconds(ms);
  std::uint64_t s = static_cast<std::uint64_t>(out.active_lifetime.count());
  if (auto e = get_uint(raw, "active-lifetime-s", 1, 86400, s)) return e;
  out.active_lifetime = std::chrono::seconds(s);
  std::uint64_t rate = static_cast<std::uint64_t>(std::llround(out.rate));
  if (auto e = get_uint(raw, "rate", 1, 1000000, rate)) return e;
  out.rate = static_cast<double>(rate);
  if (auto e = get_uint_as(raw, "burst", 1, 1000000, out.burst)) return e;
  if (auto e = get_uint_as(raw, "max-states", 1, 16000000, out.max_states)) return e;
  if (auto e = get_uint_as(raw, "max-temp-states", 1, 16000000, out.max_temp_states)) return e;
  if (out.max_temp_states > out.max_states) out.max_temp_states = out.max_states;
  if (auto e = get_string(raw, "control", out.control)) return e;
  if (out.control.empty()) out.control = default_control_path("gateway", out.tun);
  if (auto e = get_string(raw, "user", out.user)) return e;
  return get_log_level(raw, out.log_level);
}

std::optional<SettingsError> validate(const RawOptions& raw, ClientSettings& out) {
  if (auto e = get_endpoints(raw, "gateway", out.gateways)) return e;
  for (const auto& g : out.gateways)
    if (g.addr.is_unspecified() || g.addr.value >> 28 == 0xe || g.addr.value >> 24 == 127)
      return SettingsError{"--gateway " + g.to_string() + ": not a gateway address"};
  if (auto e = get_prefix(raw, out.prefix)) return e;
  if (out.prefix.len != wire::kMnPrefixLen) {
    const RawValue* r = find(raw, "prefix");
    return bad("prefix", *r, r->values.back(),
               "the MN prefix must be a /80: /48 + subnet ID + MN ID (§2.2; `m6t prefix` makes "
               "one)");
  }
  if (auto e = get_ifname(raw, "tun", out.tun)) return e;
  if (auto e = get_uint_as(raw, "mtu", wire::kMinIpv6Mtu, wire::kMaxMtu, out.mtu)) return e;
  if (auto e = get_pmtu(raw, out)) return e;
  std::uint64_t ka = static_cast<std::uint64_t>(out.keepalive.count());
  if (auto e = get_uint(raw, "keepalive-s", 1, 86400, ka)) return e;
  out.keepalive = std::chrono::seconds(ka);
  if (auto e = get_uint_as(raw, "keepalive-misses", 1, 100, out.keepalive_misses)) return e;
  std::uint64_t db = static_cast<std::uint64_t>(out.debounce.count());
  if (auto e = get_uint(raw, "debounce-ms", 0, 60000, db)) return e;
  out.debounce = std::chrono::milliseconds(db);
  std::uint64_t bo = static_cast<std::uint64_t>(out.backoff_max.count());
  if (auto e = get_uint(raw, "backoff-max-s", 1, 3600, bo)) return e;
  out.backoff_max = std::chrono::seconds(bo);
  if (auto e = get_ifname(raw, "uplink", out.uplink)) return e;
  if (auto e = get_uint_as(raw, "route-metric", 1, 0xffffffffu, out.route_metric)) return e;
  out.default_route = find(raw, "no-default-route") == nullptr;
  if (auto e = get_string(raw, "hook", out.hook)) return e;
  if (!out.hook.empty() && out.hook.front() != '/') {
    const RawValue* r = find(raw, "hook");
    // A relative path would depend on the daemon's working directory.
    return bad("hook", *r, out.hook, "give an absolute path");
  }
  std::uint64_t ht = static_cast<std::uint64_t>(out.hook_timeout.count());
  if (auto e = get_uint(raw, "hook-timeout-s", 1, 3600, ht)) return e;
  out.hook_timeout = std::chrono::seconds(ht);
  if (auto e = get_string(raw, "claims-dir", out.claims_dir)) return e;
  if (auto e = get_string(raw, "control", out.control)) return e;
  if (out.control.empty()) out.control = default_control_path("client", out.tun);
  if (auto e = get_string(raw, "user", out.user)) return e;
  return get_log_level(raw, out.log_level);
}

SettingsError::SettingsError(std::string m) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : m) {
    if (c == '\n') {
      message += "\\n";
    } else if (c == '\t') {
      message += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      message += "\\x";
      message += kHex[c >> 4];
      message += kHex[c & 15];
    } else {
      message += static_cast<char>(c);
    }
  }
}

std::string default_control_path(const std::string& role, const std::string& tun) {
  return std::string(kControlDir) + "/" + role + "-" + tun + ".sock";
}

}  // namespace m6t::app
