#include "app/settings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/enum_names.h"
#include "core/wire.h"

namespace m6t::app {

namespace {

using core::Endpoint4;
using core::Ipv6Addr;
using core::Ipv6Prefix;

// --- option builders: each writes an option's range and storage once ----------------------

template <class T>
std::string number_text(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::to_string(std::llround(v));
  else
    return std::to_string(v);
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
  return std::to_string(lo) + " to " + std::to_string(hi);
}

std::optional<std::uint64_t> parse_number(const std::string& v, std::uint64_t lo,
                                          std::uint64_t hi) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

Refusal not_a_number(const std::string& v, std::uint64_t lo, std::uint64_t hi) {
  return {v, "not a whole number from " + std::to_string(lo) + " to " + std::to_string(hi)};
}

// A whole number in [lo, hi], stored in the field `get` returns (an integer or a double).
template <class S, class Get>
Option<S> number(const char* name, const char* help, std::uint64_t lo, std::uint64_t hi, Get get) {
  return {{name, OptionKind::kValue, "N", help, false, range_text(lo, hi)},
          [=](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            auto n = parse_number(v.back(), lo, hi);
            if (!n) return not_a_number(v.back(), lo, hi);
            auto& field = get(s);
            field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
            return std::nullopt;
          },
          [=](const S& s) { return number_text(get(s)); }};
}

// A duration given as a whole number of Unit (the option's name says which: -ms or -s).
template <class Unit, class S, class Get>
Option<S> duration(const char* name, const char* help, std::uint64_t lo, std::uint64_t hi,
                   Get get) {
  return {
      {name, OptionKind::kValue, "N", help, false, range_text(lo, hi)},
      [=](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
        auto n = parse_number(v.back(), lo, hi);
        if (!n) return not_a_number(v.back(), lo, hi);
        auto& field = get(s);
        field = std::chrono::duration_cast<std::remove_reference_t<decltype(field)>>(
            Unit(static_cast<typename Unit::rep>(*n)));
        return std::nullopt;
      },
      [=](const S& s) { return std::to_string(std::chrono::duration_cast<Unit>(get(s)).count()); }};
}

template <class S, class Get>
Option<S> flag(const char* name, const char* help, bool when_given, Get get) {
  return {{name, OptionKind::kFlag, "", help, false, ""},
          [=](const std::vector<std::string>&, S& s) -> std::optional<Refusal> {
            get(s) = when_given;
            return std::nullopt;
          },
          nullptr};
}

// A string, checked by `check` (which returns why it is refused, or empty).
template <class S, class Get, class Check>
Option<S> text(const char* name, const char* metavar, const char* help, Get get, Check check) {
  return {{name, OptionKind::kValue, metavar, help, false, ""},
          [=](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            if (std::string why = check(v.back()); !why.empty()) return Refusal{v.back(), why};
            get(s) = v.back();
            return std::nullopt;
          },
          [=](const S& s) { return std::string(get(s)); }};
}

std::string any_text(const std::string&) {
  return {};
}

// IFNAMSIZ - 1, and what the kernel's dev_valid_name() refuses.
std::string ifname_check(const std::string& v) {
  bool ok = !v.empty() && v.size() <= 15 && v != "." && v != ".." &&
            std::none_of(v.begin(), v.end(), [](char c) {
              return c == '/' || c == ':' || c == '%' || c <= ' ' || c == 127;
            });
  return ok ? "" : "not an interface name (1 to 15 characters, no '/', ':' or spaces)";
}

std::string log_level_check(const std::string& v) {
  return v == "error" || v == "warn" || v == "info" || v == "debug"
             ? ""
             : "not one of error, warn, info, debug";
}

// A list of distinct endpoints (repeatable), each checked by `check` beyond its syntax.
template <class S, class Get, class Check>
Option<S> endpoints(const char* name, const char* help, Get get, Check check) {
  return {{name, OptionKind::kList, "ADDR:PORT", help, true, ""},
          [=](const std::vector<std::string>& values, S& s) -> std::optional<Refusal> {
            std::vector<Endpoint4> out;
            for (const auto& v : values) {
              auto e = Endpoint4::parse(v);
              if (!e) return Refusal{v, std::string(core::endpoint_parse_error(v))};
              if (std::string why = check(*e); !why.empty()) return Refusal{v, why};
              if (std::find(out.begin(), out.end(), *e) != out.end())
                return Refusal{v, "given twice"};
              out.push_back(*e);
            }
            get(s) = std::move(out);
            return std::nullopt;
          },
          nullptr};
}

template <class S, class Get>
Option<S> prefix(const char* metavar, const char* help, Get get) {
  return {{"prefix", OptionKind::kValue, metavar, help, true, ""},
          [=](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            auto p = Ipv6Prefix::parse(v.back());
            if (!p) return Refusal{v.back(), std::string(core::prefix_parse_error(v.back()))};
            if (std::string why = unusable_mn_prefix(*p); !why.empty())
              return Refusal{v.back(), why};
            get(s) = *p;
            return std::nullopt;
          },
          nullptr};
}

// A host name the resolver may be given (RFC 1123): labels of letters, digits and '-', not
// starting or ending with '-', 63 characters at most, 253 in all; the last label not all
// digits (a mistyped IPv4 address is not a name).
bool is_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  std::size_t start = 0;
  bool last_numeric = false;
  while (true) {
    std::size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    last_numeric = true;
    for (char c : label) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
      if (!std::isdigit(static_cast<unsigned char>(c))) last_numeric = false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !last_numeric;
}

Option<ClientSettings> gateways() {
  return {{"gateway", OptionKind::kList, "HOST:PORT",
           "tunnel gateway: an IPv4 address or a host name (resolved at each attachment) and a "
           "port (repeatable: tried in order, §2.1)",
           true, ""},
          [](const std::vector<std::string>& values, ClientSettings& s) -> std::optional<Refusal> {
            std::vector<GatewaySpec> specs;
            std::vector<Endpoint4> literals;
            for (const auto& v : values) {
              auto colon = v.rfind(':');
              if (colon == std::string::npos)
                return Refusal{v, "missing :PORT (HOST:PORT, e.g. 203.0.113.2:4500)"};
              auto port = parse_number(v.substr(colon + 1), 1, 65535);
              if (!port) return Refusal{v, "port is not a number from 1 to 65535"};
              GatewaySpec g{v.substr(0, colon), static_cast<std::uint16_t>(*port), std::nullopt};
              if (auto a = core::Ipv4Addr::parse(g.host)) {
                if (a->is_unspecified() || a->value >> 28 == 0xe || a->value >> 24 == 127)
                  return Refusal{v, "not a gateway address"};
                g.literal = *a;
                literals.push_back({*a, g.port});
              } else if (!is_host_name(g.host)) {
                return Refusal{v, "not an IPv4 address or a host name before ':'"};
              }
              if (std::find(specs.begin(), specs.end(), g) != specs.end())
                return Refusal{v, "given twice"};
              specs.push_back(std::move(g));
            }
            s.gateway_specs = std::move(specs);
            s.engine.gateways = std::move(literals);
            return std::nullopt;
          },
          nullptr};
}

Option<GatewaySettings> home_agents() {
  return {
      {"home-agent", OptionKind::kList, "ADDR",
       "home agent address (repeatable): the only allowed destination of MN traffic "
       "(§6.1.3)",
       true, ""},
      [](const std::vector<std::string>& values, GatewaySettings& s) -> std::optional<Refusal> {
        std::vector<Ipv6Addr> out;
        for (const auto& v : values) {
          auto a = Ipv6Addr::parse(v);
          if (!a) return Refusal{v, "not an IPv6 address"};
          if (a->is_multicast() || a->is_link_local() || a->is_unspecified() || a->is_loopback())
            return Refusal{v, "not a unicast address"};
          out.push_back(*a);
        }
        s.engine.home_agents = std::move(out);
        return std::nullopt;
      },
      nullptr};
}

template <class S>
Option<S> control(const char* role) {
  return {{"control", OptionKind::kValue, "PATH", "control socket (its directory must exist)",
           false, ""},
          [](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            if (v.back().empty()) return Refusal{v.back(), "empty path"};
            s.control = v.back();
            return std::nullopt;
          },
          [role](const S& s) {
            return s.control.empty() ? default_control_path(role, s.tun) : s.control;
          }};
}

template <class S>
Option<S> tun_option() {
  return text<S>(
      "tun", "NAME", "TUN device name", [](auto& s) -> auto& { return s.tun; }, ifname_check);
}

template <class S>
Option<S> control_group() {
  return text<S>(
      "control-group", "GROUP",
      "members of this group may read the control socket too (m6t show, metrics); default: "
      "root and --user only",
      [](auto& s) -> auto& { return s.control_group; }, any_text);
}

template <class S>
Option<S> metrics_listen() {
  return {{"metrics-listen", OptionKind::kValue, "ADDR:PORT",
           "serve the metrics (Prometheus text, as m6t show --metrics) over HTTP at "
           "/metrics on this address; a port from 1024 on with --user",
           false, ""},
          [](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            auto e = Endpoint4::parse(v.back());
            if (!e) return Refusal{v.back(), std::string(core::endpoint_parse_error(v.back()))};
            s.metrics_listen = *e;
            return std::nullopt;
          },
          nullptr};
}

template <class S>
Option<S> user(const char* help) {
  return text<S>(
      "user", "NAME", help, [](auto& s) -> auto& { return s.user; }, any_text);
}

constexpr std::array<std::string_view, 3> kFastPathNames = {"auto", "on", "off"};

template <class S>
Option<S> fast_path() {
  return {{"fast-path", OptionKind::kValue, "MODE",
           "forward active states in the kernel (eBPF at the TC hooks): auto (where it loads), "
           "on (or fail the start), off",
           false, ""},
          [](const std::vector<std::string>& v, S& s) -> std::optional<Refusal> {
            for (std::size_t i = 0; i < kFastPathNames.size(); ++i)
              if (v.back() == kFastPathNames[i]) {
                s.fast_path = static_cast<FastPathMode>(i);
                return std::nullopt;
              }
            return Refusal{v.back(), "not one of auto, on, off"};
          },
          [](const S& s) { return std::string(to_string(s.fast_path)); }};
}

std::string log_target_check(const std::string& v) {
  return v == "auto" || v == "stderr" || v == "journal" || v == "syslog"
             ? ""
             : "not one of auto, stderr, journal, syslog";
}

template <class S>
Option<S> log_target() {
  return text<S>(
      "log-target", "TARGET",
      "where log lines go: stderr, journal (with priorities), syslog (facility daemon), or "
      "auto (the journal when stderr is connected to it, as under systemd)",
      [](auto& s) -> auto& { return s.log_target; }, log_target_check);
}

template <class S>
Option<S> log_level() {
  return text<S>(
      "log-level", "LEVEL", "error, warn, info or debug",
      [](auto& s) -> auto& { return s.log_level; }, log_level_check);
}

using std::chrono::milliseconds;
using std::chrono::seconds;

// The MTU options, the same on both sides (§2.6); `lowered` says whose MTU path-MTU mode
// lowers.
template <class S>
std::vector<Option<S>> mtu_options(const std::string& lowered) {
  const std::string pmtu_help =
      "set the outer DF bit and lower " + lowered + " on ICMP fragmentation needed (§2.6)";
  return {number<S>(
              "mtu", "tunnel MTU (§2.6)", wire::kMinIpv6Mtu, wire::kMaxMtu,
              [](auto& s) -> auto& { return s.engine.mtu; }),
          flag<S>(
              "pmtu-discovery", pmtu_help.c_str(), true,
              [](auto& s) -> auto& { return s.engine.pmtu_discovery; }),
          duration<seconds, S>(
              "pmtu-age-s", "a learned path MTU is probed upward again after this many seconds", 1,
              86400, [](auto& s) -> auto& { return s.engine.pmtu_age; })};
}

template <class S>
std::vector<Option<S>> join(std::initializer_list<std::vector<Option<S>>> parts) {
  std::vector<Option<S>> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

Option<GatewaySettings> announce_table() {
  auto o = number<GatewaySettings>(
      "announce-table",
      "the routing table the --announce routes go into (one of its own; required with "
      "--announce)",
      1, 0xffffffffu, [](auto& s) -> auto& { return s.announce_table; });
  o.show = nullptr;  // no default: 0 is no table
  return o;
}

Option<GatewaySettings> slices() {
  return {{"announce", OptionKind::kList, "ADDR,PREFIX",
           "a slice this gateway serves: its IPv4 service address (one of the listen "
           "addresses) and its part of the MN prefix; their routes go into --announce-table "
           "while the gateway serves (repeatable)",
           false, ""},
          [](const std::vector<std::string>& values, GatewaySettings& s) -> std::optional<Refusal> {
            std::vector<Slice> out;
            for (const auto& v : values) {
              const auto comma = v.find(',');
              if (comma == std::string::npos)
                return Refusal{v, "not ADDR,PREFIX (e.g. 203.0.113.10,fd00:db8:1::/52)"};
              auto a = core::Ipv4Addr::parse(v.substr(0, comma));
              if (!a) return Refusal{v, "not an IPv4 address before the comma"};
              const std::string p = v.substr(comma + 1);
              auto part = Ipv6Prefix::parse(p);
              if (!part) return Refusal{v, std::string(core::prefix_parse_error(p))};
              const Slice slice{*a, *part};
              if (std::find(out.begin(), out.end(), slice) != out.end())
                return Refusal{v, "given twice"};
              out.push_back(slice);
            }
            s.announce = std::move(out);
            return std::nullopt;
          },
          nullptr};
}

// The options a reload applies (GatewayEngine::reconfigure, ClientEngine::reconfigure, the
// log level); every other change waits for a restart.
template <class S>
std::vector<Option<S>> reloadable(std::vector<Option<S>> options,
                                  std::initializer_list<std::string_view> names) {
  for (auto& o : options)
    if (std::find(names.begin(), names.end(), o.spec.name) != names.end()) o.spec.reloadable = true;
  return options;
}

const OptionTable<GatewaySettings> kGatewayOptions(reloadable(
    join<GatewaySettings>(
        {{
             endpoints<GatewaySettings>(
                 "listen",
                 "address and UDP port to serve MNs on (repeatable; §2.1: any port, e.g. 4500, 53, "
                 "3544)",
                 [](auto& s) -> auto& { return s.listen; },
                 [](const Endpoint4& e) { return unservable_address(e.addr); }),
             prefix<GatewaySettings>(
                 "PREFIX", "the MN prefix routed to the gateway (e.g. a ULA /48)",
                 [](auto& s) -> auto& { return s.engine.mn_prefix; }),
             home_agents(),
             tun_option<GatewaySettings>(),
         },
         mtu_options<GatewaySettings>("an MN's MTU"),
         {
             duration<milliseconds, GatewaySettings>(
                 "temp-lifetime-ms", "lifetime of a temporary state in milliseconds (§2.4)", 1,
                 600000, [](auto& s) -> auto& { return s.engine.states.temp_lifetime; }),
             duration<seconds, GatewaySettings>(
                 "active-lifetime-s", "idle lifetime of an active state in seconds (§6.1.3)", 1,
                 86400, [](auto& s) -> auto& { return s.engine.states.active_lifetime; }),
             number<GatewaySettings>(
                 "rate", "state creations per second per IPv4 address (§6.1.3)", 1, 1000000,
                 [](auto& s) -> auto& { return s.engine.creation_rate.rate_per_s; }),
             number<GatewaySettings>(
                 "burst", "state creations at once per IPv4 address", 1, 1000000,
                 [](auto& s) -> auto& { return s.engine.creation_rate.burst; }),
             number<GatewaySettings>(
                 "max-states", "cap on states", 1, wire::kMaxStatesLimit,
                 [](auto& s) -> auto& { return s.engine.states.max_states; }),
             number<GatewaySettings>(
                 "max-temp-states", "cap on temporary states (at most --max-states)", 1,
                 wire::kMaxStatesLimit,
                 [](auto& s) -> auto& { return s.engine.states.max_temp_states; }),
             control<GatewaySettings>("gateway"),
             control_group<GatewaySettings>(),
             metrics_listen<GatewaySettings>(),
             user<GatewaySettings>(
                 "after setup, run as this user with no capability (default: stay "
                 "root)"),
             log_level<GatewaySettings>(),
             log_target<GatewaySettings>(),
             fast_path<GatewaySettings>(),
             text<GatewaySettings>(
                 "state-dir", "DIR",
                 "save the active states here (every --state-save-s and at stop) and restore "
                 "them at start, so that a restart loses no MN; empty: never",
                 [](auto& s) -> auto& { return s.state_dir; }, any_text),
             duration<seconds, GatewaySettings>(
                 "state-save-s", "seconds between two saves of the active states", 1, 3600,
                 [](auto& s) -> auto& { return s.state_save; }),
             slices(),
             announce_table(),
             duration<milliseconds, GatewaySettings>(
                 "drain-ms",
                 "at a stop, serve on this long after withdrawing the --announce routes", 0, 60000,
                 [](auto& s) -> auto& { return s.drain; }),
         }}),
    {"listen", "home-agent", "temp-lifetime-ms", "active-lifetime-s", "rate", "burst",
     "max-temp-states", "pmtu-age-s", "log-level"}));

const OptionTable<ClientSettings> kClientOptions(reloadable(
    join<ClientSettings>(
        {{
             gateways(),
             prefix<ClientSettings>(
                 "PREFIX/80", "this MN's /80 (see `m6t prefix`, §2.2)",
                 [](auto& s) -> auto& { return s.engine.prefix; }),
             tun_option<ClientSettings>(),
         },
         mtu_options<ClientSettings>("the tunnel MTU"),
         {
             duration<seconds, ClientSettings>(
                 "keepalive-s", "keepalive interval in seconds when idle (§2.3)", 1, 86400,
                 [](auto& s) -> auto& { return s.engine.keepalive_interval; }),
             number<ClientSettings>(
                 "keepalive-misses",
                 "keepalives unanswered in a row before the gateway is taken for lost (§2.7)", 1,
                 100, [](auto& s) -> auto& { return s.engine.max_unanswered; }),
             duration<milliseconds, ClientSettings>(
                 "debounce-ms",
                 "an IPv4 change is acted on once stable this many milliseconds (§3)", 0, 60000,
                 [](auto& s) -> auto& { return s.engine.debounce; }),
             duration<seconds, ClientSettings>(
                 "backoff-max-s",
                 "longest wait in seconds between rounds of gateways when none answers", 1, 3600,
                 [](auto& s) -> auto& { return s.engine.backoff_max; }),
             text<ClientSettings>(
                 "uplink", "IFNAME", "IPv4 interface to use (default: that of the default route)",
                 [](auto& s) -> auto& { return s.uplink; }, ifname_check),
             number<ClientSettings>(
                 "route-metric", "metric of the IPv6 default route through the tunnel (§2.7)", 1,
                 0xffffffffu, [](auto& s) -> auto& { return s.route_metric; }),
             flag<ClientSettings>(
                 "no-default-route", "do not install an IPv6 default route", false,
                 [](auto& s) -> auto& { return s.default_route; }),
             text<ClientSettings>(
                 "hook", "PATH",
                 "program run on every tunnel change, with M6T_STATE, M6T_ADDRESS... in its "
                 "environment",
                 [](auto& s) -> auto& { return s.hook; },
                 [](const std::string& v) -> std::string {
                   // A relative path would depend on the daemon's working directory.
                   return v.empty() || v.front() == '/' ? "" : "give an absolute path";
                 }),
             duration<seconds, ClientSettings>(
                 "hook-timeout-s", "a hook still running after this many seconds is killed", 1,
                 3600, [](auto& s) -> auto& { return s.hook_timeout; }),
             text<ClientSettings>(
                 "claims-dir", "DIR",
                 "lock files keeping clients that share a /80 on different values (§2.5)",
                 [](auto& s) -> auto& { return s.claims_dir; },
                 [](const std::string& v) -> std::string { return v.empty() ? "empty path" : ""; }),
             control<ClientSettings>("client"),
             control_group<ClientSettings>(),
             metrics_listen<ClientSettings>(),
             user<ClientSettings>(
                 "after setup, run as this user keeping only CAP_NET_ADMIN (default: stay root)"),
             log_level<ClientSettings>(),
             log_target<ClientSettings>(),
             fast_path<ClientSettings>(),
         }}),
    {"pmtu-age-s", "keepalive-s", "keepalive-misses", "debounce-ms", "backoff-max-s",
     "log-level"}));

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

// Reads and parses a TOML file. A file that cannot be read gives the system's reason (toml++
// alone would say "File could not be opened for reading" at line 0).
std::optional<SettingsError> parse_file(const std::string& path, toml::table& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return SettingsError{path + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return SettingsError{path + ": " + std::strerror(errno)};
  try {
    out = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    if (e.source().begin.line == 0) return SettingsError{path + ": " + what};
    return SettingsError{path + ":" + std::to_string(e.source().begin.line) + ": " + what};
  }
  return std::nullopt;
}

// --- validation -----------------------------------------------------------------------------

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

// Every option of the table, in its order: the value given, or the default kept.
template <class S>
std::optional<SettingsError> apply(const OptionTable<S>& table, const RawOptions& raw, S& out) {
  out = S{};
  for (const auto& o : table.options()) {
    const RawValue* r = find(raw, o.spec.name);
    if (!r) {
      if (o.spec.required) return missing(o.spec.name);
      continue;
    }
    if (auto refused = o.set(r->values, out))
      return bad(o.spec.name, *r, refused->value, refused->why);
  }
  return std::nullopt;
}

SettingsError bad_value(const RawOptions& raw, const std::string& name, const std::string& why) {
  const RawValue* r = find(raw, name);
  return bad(name, *r, r->values.back(), why);
}

}  // namespace

const OptionTable<GatewaySettings>& gateway_options() {
  return kGatewayOptions;
}
const OptionTable<ClientSettings>& client_options() {
  return kClientOptions;
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

std::optional<SettingsError> config_sections(const std::string& path,
                                             std::vector<std::string>& out) {
  toml::table doc;
  if (auto e = parse_file(path, doc)) return e;
  for (auto&& [key, node] : doc) {
    std::string k(key.str());
    if ((k == "gateway" || k == "client") && node.is_table()) {
      out.push_back(k);
    } else {
      return SettingsError{where(path, node.source()) + ": unknown table '" + k +
                           "' (expected [gateway] or [client])"};
    }
  }
  if (out.empty()) return SettingsError{path + ": no [gateway] or [client] table"};
  return std::nullopt;
}

std::optional<SettingsError> load_config(const std::string& path, const std::string& section,
                                         const std::vector<OptionSpec>& specs, RawOptions& out) {
  toml::table doc;
  if (auto e = parse_file(path, doc)) return e;
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
  if (auto e = apply(gateway_options(), raw, out)) return e;
  const Ipv6Prefix& prefix = out.engine.mn_prefix;
  if (prefix.len > wire::kMnPrefixLen)
    return bad_value(raw, "prefix", "longer than /80: no MN /80 fits in it (§2.2)");
  for (const auto& ha : out.engine.home_agents)
    if (prefix.contains(ha))
      return bad("home-agent", *find(raw, "home-agent"), ha.to_string(),
                 "inside the MN prefix " + prefix.to_string());
  auto& states = out.engine.states;
  states.max_temp_states = std::min(states.max_temp_states, states.max_states);
  if (!out.announce.empty()) {
    if (out.announce_table == 0 || (out.announce_table >= 253 && out.announce_table <= 255))
      return SettingsError{
          "--announce needs --announce-table N (a table of its own: not main, local or "
          "default)"};
    for (const Slice& sl : out.announce) {
      const std::string text = sl.service.to_string() + "," + sl.part.to_string();
      if (sl.part.len < prefix.len || !prefix.contains(sl.part.addr))
        return bad("announce", *find(raw, "announce"), text,
                   "the part is not inside the MN prefix " + prefix.to_string());
      if (std::none_of(out.listen.begin(), out.listen.end(),
                       [&](const Endpoint4& l) { return l.addr == sl.service; }))
        return bad("announce", *find(raw, "announce"), text,
                   "the gateway does not listen on " + sl.service.to_string() +
                       " (every gateway listens on every slice's address)");
    }
  }
  if (out.control.empty()) out.control = default_control_path("gateway", out.tun);
  return std::nullopt;
}

std::optional<SettingsError> validate(const RawOptions& raw, ClientSettings& out) {
  if (auto e = apply(client_options(), raw, out)) return e;
  if (out.engine.prefix.len != wire::kMnPrefixLen)
    return bad_value(raw, "prefix",
                     "the MN prefix must be a /80: /48 + subnet ID + MN ID (§2.2; `m6t prefix` "
                     "makes one)");
  if (out.control.empty()) out.control = default_control_path("client", out.tun);
  return std::nullopt;
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

std::string_view to_string(FastPathMode m) {
  return core::name_of(kFastPathNames, m);
}

std::string unservable_address(const core::Ipv4Addr& a) {
  return a.value >> 28 == 0xe ? "a multicast address cannot be served" : "";
}

std::string unusable_mn_prefix(const core::Ipv6Prefix& p) {
  if (p.addr.is_multicast() || p.addr.is_link_local() || p.addr.is_v4_mapped() || p.len < 8)
    return "not a unicast prefix an MN can be addressed from";
  return {};
}

std::string default_control_path(const std::string& role, const std::string& tun) {
  return std::string(kControlDir) + "/" + role + "-" + tun + ".sock";
}

}  // namespace m6t::app
