// m6t: one binary, a table of subcommands (as `wg`).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>

#include "app/commands.h"
#include "app/settings.h"
#include "app/version.h"

namespace {

using namespace m6t::app;

// Registers the table's options on `cmd`, storing what is given into `raw`.
void add_options(CLI::App* cmd, const std::vector<OptionSpec>& specs,
                 std::map<std::string, std::vector<std::string>>& raw, bool& flag_storage) {
  for (const auto& spec : specs) {
    std::string flag = std::string("--") + spec.name;
    auto& values = raw[spec.name];
    switch (spec.kind) {
      case OptionKind::kValue:
        cmd->add_option_function<std::string>(
               flag, [&values](const std::string& v) { values = {v}; }, spec.help)
            ->type_name(spec.metavar);
        break;
      case OptionKind::kList:
        cmd->add_option(flag, values, spec.help)->type_name(spec.metavar)->allow_extra_args(false);
        break;
      case OptionKind::kFlag:
        cmd->add_flag_callback(
            flag, [&values] { values = {"true"}; }, spec.help);
        break;
    }
  }
  (void)flag_storage;
}

// Config file values first, then the command line over them, then validation.
template <class Settings>
int run_daemon(const std::string& role, const std::vector<OptionSpec>& specs,
               const std::map<std::string, std::vector<std::string>>& given,
               const std::string& config, int (*run)(const Settings&)) {
  RawOptions from_config;
  if (!config.empty()) {
    if (auto e = load_config(config, role, specs, from_config)) {
      std::fprintf(stderr, "m6t %s: %s\n", role.c_str(), e->message.c_str());
      return kExitUsage;
    }
  }
  RawOptions from_cli;
  for (const auto& [name, values] : given)
    if (!values.empty()) from_cli[name] = RawValue{values, "--" + name};
  Settings settings;
  if (auto e = validate(merge(from_config, from_cli), settings)) {
    std::fprintf(stderr, "m6t %s: %s\n", role.c_str(), e->message.c_str());
    return kExitUsage;
  }
  return run(settings);
}

struct Subcommand {
  const char* name;
  const char* summary;
  std::function<void(CLI::App*)> define;
  std::function<int()> run;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "m6t: IPv6 connectivity for Mobile IPv6 nodes stuck behind IPv4-only NATs\n"
      "(draft-ebalard-mext-m6t: an IPv6-in-UDP/IPv4 tunnel to a gateway in front of\n"
      "the home agent)",
      "m6t"};
  app.set_version_flag("--version", std::string("m6t ") + kVersion);
  app.require_subcommand(1);

  std::map<std::string, std::vector<std::string>> gateway_raw, client_raw;
  std::string gateway_config, client_config;
  bool unused = false;
  ShowOptions show;
  PrefixOptions prefix;
  std::string check_path;

  const std::vector<Subcommand> table = {
      {"gateway", "run the tunnel gateway in front of (or on) the home agent",
       [&](CLI::App* c) {
         add_options(c, gateway_options(), gateway_raw, unused);
         c->add_option("--config", gateway_config,
                       "read options from the [gateway] table of a TOML file")
             ->type_name("FILE");
       },
       [&] {
         return run_daemon<GatewaySettings>("gateway", gateway_options(), gateway_raw,
                                            gateway_config, &run_gateway);
       }},
      {"client", "run the tunnel client on the mobile node",
       [&](CLI::App* c) {
         add_options(c, client_options(), client_raw, unused);
         c->add_option("--config", client_config,
                       "read options from the [client] table of a TOML file")
             ->type_name("FILE");
       },
       [&] {
         return run_daemon<ClientSettings>("client", client_options(), client_raw, client_config,
                                           &run_client);
       }},
      {"show", "show the state of running daemons",
       [&](CLI::App* c) {
         c->add_flag("--json", show.json, "machine-readable output (stable names)");
         c->add_option("--control", show.control, "one daemon's control socket")->type_name("PATH");
       },
       [&] { return run_show(show); }},
      {"prefix", "print a fresh RFC 4193 ULA /48, or the /80 of one MN (§2.2)",
       [&](CLI::App* c) {
         c->add_option("--ula", prefix.ula, "the /48 to use (default: a fresh one)")
             ->type_name("PREFIX/48");
         c->add_option("--subnet", prefix.subnet, "16-bit subnet ID")
             ->type_name("N")
             ->check(CLI::Range(0, 65535));
         c->add_option("--mn-id", prefix.mn_id, "16-bit MN ID")
             ->type_name("N")
             ->check(CLI::Range(0, 65535));
       },
       [&] { return run_prefix(prefix); }},
      {"check-config", "validate a configuration file",
       [&](CLI::App* c) {
         c->add_option("FILE", check_path, "TOML file with a [gateway] and/or [client] table")
             ->required();
       },
       [&] { return run_check_config(check_path); }},
  };

  std::vector<std::pair<CLI::App*, const Subcommand*>> subs;
  for (const auto& s : table) {
    CLI::App* c = app.add_subcommand(s.name, s.summary);
    s.define(c);
    subs.emplace_back(c, &s);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "m6t: %s (see m6t --help)\n", e.what());
    return kExitUsage;
  }
  for (auto& [c, s] : subs)
    if (c->parsed()) return s->run();
  return kExitUsage;
}
