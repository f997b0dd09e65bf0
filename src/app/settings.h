// Daemon settings: one table of options feeds both the command line (CLI11) and the config
// file (TOML, a [gateway] or [client] table whose keys are the long option names), and one
// validator turns either into typed settings with errors that say what is wrong and where.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"

namespace m6t::app {

enum class OptionKind { kValue, kList, kFlag };

struct OptionSpec {
  const char* name;  // long option name without "--"; also the config key
  OptionKind kind;
  const char* metavar;
  const char* help;
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

struct GatewaySettings {
  std::vector<core::Endpoint4> listen;
  core::Ipv6Prefix prefix;
  std::vector<core::Ipv6Addr> home_agents;
  std::string tun = "m6tgw0";
  std::uint32_t mtu = 1472;
  bool pmtu_discovery = false;  // path-MTU mode: DF set, ICMPv4 lowers one MN's MTU
  std::chrono::seconds pmtu_age{600};
  std::chrono::milliseconds temp_lifetime{1000};
  std::chrono::seconds active_lifetime{90};
  double rate = 10;
  std::uint32_t burst = 20;
  std::uint32_t max_states = 262144;
  std::uint32_t max_temp_states = 65536;
  std::string control;  // empty: default path
  std::string user;     // empty: stay root (see src/app/least_privilege.h)
  std::string log_level = "info";
};

struct ClientSettings {
  std::vector<core::Endpoint4> gateways;
  core::Ipv6Prefix prefix;  // a /80
  std::string tun = "m6t0";
  std::uint32_t mtu = 1472;
  bool pmtu_discovery = false;  // path-MTU mode: DF set, ICMPv4 lowers the tunnel's MTU
  std::chrono::seconds pmtu_age{600};
  std::chrono::seconds keepalive{30};
  std::uint32_t keepalive_misses = 3;
  std::chrono::milliseconds debounce{250};
  std::chrono::seconds backoff_max{64};
  std::string uplink;  // empty: the interface of the default route
  std::uint32_t route_metric = 4096;
  bool default_route = true;
  std::string hook;  // empty: none
  std::chrono::seconds hook_timeout{10};
  std::string claims_dir = "/run/m6t/claims";
  std::string control;
  std::string user;  // empty: stay root (see src/app/least_privilege.h)
  std::string log_level = "info";
};

const std::vector<OptionSpec>& gateway_options();
const std::vector<OptionSpec>& client_options();

// Reads the [section] table of a TOML file into raw options. Unknown keys, wrong types and
// syntax errors are SettingsErrors naming the file and line.
std::optional<SettingsError> load_config(const std::string& path, const std::string& section,
                                         const std::vector<OptionSpec>& specs, RawOptions& out);
// Which of "gateway" and "client" a config file has tables for.
std::optional<SettingsError> config_sections(const std::string& path,
                                             std::vector<std::string>& out);

// Command-line values win over config values, option by option.
RawOptions merge(RawOptions from_config, const RawOptions& from_cli);

std::optional<SettingsError> validate(const RawOptions& raw, GatewaySettings& out);
std::optional<SettingsError> validate(const RawOptions& raw, ClientSettings& out);

std::string default_control_path(const std::string& role, const std::string& tun);
inline constexpr const char* kControlDir = "/run/m6t";

}  // namespace m6t::app
