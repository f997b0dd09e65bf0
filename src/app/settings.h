// Daemon settings: one table of options per daemon is the only source of every option's
// name, help, accepted range and default. The command line (CLI11), the config file (TOML, a
// [gateway] or [client] table whose keys are the long option names), `--help`,
// `check-config` and the man page all derive from it; the defaults themselves are those of
// the core's config structs (core/*_engine.h) and of the daemon-only fields below, written
// once. One validator turns either source into typed settings, with errors that say what is
// wrong and where.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/client_engine.h"
#include "core/gateway_engine.h"

namespace m6t::app {

enum class OptionKind { kValue, kList, kFlag };

// What the parsers need to know of an option.
struct OptionSpec {
  std::string name;  // long option name without "--"; also the config key
  OptionKind kind = OptionKind::kValue;
  std::string metavar;  // "N", "ADDR:PORT"...; empty for flags
  std::string help;     // what it does
  bool required = false;
  std::string range;  // accepted values, e.g. "1280 to 65507"; empty when not a number
  // A reload (SIGHUP) applies a new value without a restart (states survive); the others
  // are named in the log as needing one.
  bool reloadable = false;
};

// Values as given, before validation, with where each came from ("--listen" or "f.toml:3").
struct RawValue {
  std::vector<std::string> values;
  std::string origin;
};
using RawOptions = std::map<std::string, RawValue>;

// A user error: printed as one line, exit status 2.
// The message is one line whatever the file held: control characters that reach it (from a
// quoted key or value, or quoted back by the TOML parser, e.g. "saw 'tru\n'") are escaped
// as \n, \t or \xNN (found by fuzz/fuzz_settings.cc).
struct SettingsError {
  SettingsError(std::string m);  // NOLINT: implicit, so that `return {text};` keeps working
  std::string message;
};

// A value an option refused, and why ("not a whole number from 1 to 100").
struct Refusal {
  std::string value;
  std::string why;
};

// One option of the settings type S: its spec, how a given value is stored, and how the
// value of a settings object is shown (the default, when shown for S{}; empty: none shown).
template <class S>
struct Option {
  OptionSpec spec;
  std::function<std::optional<Refusal>(const std::vector<std::string>& values, S& out)> set;
  std::function<std::string(const S&)> show;
};

template <class S>
class OptionTable {
 public:
  explicit OptionTable(std::vector<Option<S>> options) : options_(std::move(options)) {
    for (const auto& o : options_)
      specs_.push_back(o.spec);
  }
  const std::vector<Option<S>>& options() const { return options_; }
  const std::vector<OptionSpec>& specs() const { return specs_; }
  const Option<S>* find(const std::string& name) const {
    for (const auto& o : options_)
      if (o.spec.name == name) return &o;
    return nullptr;
  }

 private:
  std::vector<Option<S>> options_;
  std::vector<OptionSpec> specs_;
};

inline constexpr const char* kControlDir = "/run/m6t";
inline constexpr const char* kStateDir = "/var/lib/m6t";

// --fast-path: the eBPF programs that forward active states in the kernel (src/bpf).
// auto: used where they load (said in the log and in `m6t show`), the user-space path alone
// where they do not; on: a daemon that cannot load them does not start; off: never.
enum class FastPathMode : std::uint8_t { kAuto, kOn, kOff };
std::string_view to_string(FastPathMode m);

// One slice of a cluster of gateways (--announce; docs/deployment.md, "More than one
// gateway"): the IPv4 service address its MNs are given as --gateway, and its part of the MN
// prefix (their /80s).
struct Slice {
  core::Ipv4Addr service;
  core::Ipv6Prefix part;
  bool operator==(const Slice&) const = default;
};

struct GatewaySettings {
  // The protocol's settings (prefix, home agents, MTU, lifetimes, rates, caps), with the core's
  // defaults.
  core::GatewayConfig engine;
  std::vector<core::Endpoint4> listen;
  std::string tun = "m6tgw0";
  std::string control;                            // empty: default_control_path("gateway", tun)
  std::string control_group;                      // empty: root and --user only
  std::optional<core::Endpoint4> metrics_listen;  // none: no HTTP endpoint
  std::string user;  // empty: stay root (see src/app/least_privilege.h)
  std::string log_level = "info";
  std::string log_target = "auto";  // app/logger.h
  FastPathMode fast_path = FastPathMode::kAuto;
  // Where the active states are saved for the next start (app/state_store.h); empty: nowhere.
  std::string state_dir = kStateDir;
  std::chrono::seconds state_save{
      std::chrono::duration_cast<std::chrono::seconds>(wire::kDefaultStateSaveInterval)};
  // While serving, the routes of these slices (the service address's /32 and the part) are in
  // routing table `announce_table` for a routing daemon to announce; at a stop they are
  // withdrawn first and the gateway serves on for `drain` while the routers converge.
  std::vector<Slice> announce;
  std::uint32_t announce_table = 0;
  std::chrono::milliseconds drain{0};
};

// One --gateway as given (§2.1): an IPv4 address, or a host name the client resolves at each
// attachment (gateway_names.h), and a port.
struct GatewaySpec {
  std::string host;
  std::uint16_t port = 0;
  std::optional<core::Ipv4Addr> literal;  // set when `host` is an IPv4 address
  bool operator==(const GatewaySpec&) const = default;
};

struct ClientSettings {
  // The protocol's settings (prefix, gateways, MTU, keepalive and mobility timers), with the
  // core's defaults.
  core::ClientConfig engine;  // engine.gateways: the addresses known at start (literals)
  std::vector<GatewaySpec> gateway_specs;
  std::string tun = "m6t0";
  std::string uplink;  // empty: the interface of the default route
  // §2.7: a metric high enough that a native IPv6 default route stays preferred.
  std::uint32_t route_metric = 4096;
  bool default_route = true;
  std::string hook;  // empty: none
  std::chrono::seconds hook_timeout{10};
  std::string claims_dir = std::string(kControlDir) + "/claims";
  std::string control;                            // empty: default_control_path("client", tun)
  std::string control_group;                      // empty: root and --user only
  std::optional<core::Endpoint4> metrics_listen;  // none: no HTTP endpoint
  std::string user;  // empty: stay root (see src/app/least_privilege.h)
  std::string log_level = "info";
  std::string log_target = "auto";  // app/logger.h
  FastPathMode fast_path = FastPathMode::kAuto;
};

const OptionTable<GatewaySettings>& gateway_options();
const OptionTable<ClientSettings>& client_options();

// The help text of an option as `--help` and the man page show it: what it does, then the
// accepted range and the default (of S{}), or "required".
template <class S>
std::string describe(const Option<S>& o) {
  std::string extra;
  if (o.spec.required) extra = "required";
  if (!o.spec.range.empty()) extra += (extra.empty() ? "" : ", ") + o.spec.range;
  if (!o.spec.required && o.show) {
    std::string d = o.show(S{});
    if (!d.empty()) extra += (extra.empty() ? "default " : ", default ") + d;
  }
  return extra.empty() ? o.spec.help : o.spec.help + " [" + extra + "]";
}

// Reads the [section] table of a TOML file into raw options. Unknown keys, wrong types and
// syntax errors are SettingsErrors naming the file and line; a file that cannot be read says
// why (the system's reason).
std::optional<SettingsError> load_config(const std::string& path, const std::string& section,
                                         const std::vector<OptionSpec>& specs, RawOptions& out);
// Which of "gateway" and "client" a config file has tables for.
std::optional<SettingsError> config_sections(const std::string& path,
                                             std::vector<std::string>& out);

// Command-line values win over config values, option by option.
RawOptions merge(RawOptions from_config, const RawOptions& from_cli);

std::optional<SettingsError> validate(const RawOptions& raw, GatewaySettings& out);
std::optional<SettingsError> validate(const RawOptions& raw, ClientSettings& out);

// The closest option name to a mistyped one, as " (did you mean 'prefix'?)"; empty if none.
std::string suggestion(const std::string& name, const std::vector<OptionSpec>& specs);

std::string default_control_path(const std::string& role, const std::string& tun);

// Why a prefix cannot be an MN prefix (multicast, link-local, v4-mapped, shorter than /8), or
// empty: the gateway's --prefix and a cluster description's prefix share this check.
std::string unusable_mn_prefix(const core::Ipv6Prefix& p);
// Why MNs cannot be served on this IPv4 address (multicast), or empty: --listen and a
// cluster's service addresses share this check.
std::string unservable_address(const core::Ipv4Addr& a);

}  // namespace m6t::app
