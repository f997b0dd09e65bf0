#include "app/cli.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "app/cli_format.h"
#include "app/commands.h"
#include "app/settings.h"
#include "app/version.h"
#include "os/service_manager.h"

namespace m6t::app {

namespace {

// Each option's occurrences, as given on the command line.
using Given = std::map<std::string, std::vector<std::string>>;

struct Subcommand {
  const char* name;
  const char* summary;
  std::function<void(CLI::App*)> define;
  std::function<int()> run;
};

int usage_error(const std::string& who, const std::string& what) {
  // Under systemd the journal reads a "<3>" prefix as priority err (sd-daemon(3)): a unit
  // that cannot start says why in one line at that priority.
  std::fprintf(stderr, "%s%s: %s\n", os::stderr_is_journal() ? "<3>" : "", who.c_str(),
               what.c_str());
  return kExitUsage;
}

std::vector<OptionSpec> option_specs(const CLI::App* cmd) {
  std::vector<OptionSpec> out;
  for (const CLI::Option* o : cmd->get_options())
    for (const auto& name : o->get_lnames())
      out.push_back({name, OptionKind::kValue, "", "", false, ""});
  return out;
}

// " (did you mean '--prefix'?)" for a mistyped "--prefx".
std::string did_you_mean(const std::string& name, const std::vector<OptionSpec>& specs,
                         const char* prefix) {
  std::string s = suggestion(name, specs);
  if (s.empty()) return s;
  return " (did you mean '" + std::string(prefix) + s.substr(s.find('\'') + 1);
}

// Every option of a daemon's settings table, collecting what is given as it is given: the
// checks (ranges, "given twice", required) are the settings' own, not the parser's.
template <class S>
void add_daemon_options(CLI::App* cmd, const OptionTable<S>& table, Given& given) {
  for (const auto& o : table.options()) {
    const OptionSpec& spec = o.spec;
    auto& values = given[spec.name];
    const std::string flag = "--" + spec.name;
    if (spec.kind == OptionKind::kFlag) {
      cmd->add_flag_function(
          flag, [&values](std::int64_t n) { values.assign(static_cast<std::size_t>(n), "true"); },
          describe(o));
    } else {
      cmd->add_option(flag, values, describe(o))->type_name(spec.metavar)->allow_extra_args(false);
    }
  }
}

// Config file values first, then the command line over them, then validation. A reload
// does the same again (reload.h).
template <class S>
int run_daemon(const std::string& role, const OptionTable<S>& table, const Given& given,
               const std::string& config, int (*run)(const S&, ConfigReload<S>&)) {
  const std::string who = "m6t " + role;
  RawOptions from_cli;
  for (const auto& [name, values] : given) {
    if (values.empty()) continue;
    const Option<S>* o = table.find(name);
    if (o && o->spec.kind == OptionKind::kValue && values.size() > 1)
      return usage_error(who, "--" + name + " given twice (" + values[0] + ", then " + values[1] +
                                  "); it takes one value");
    from_cli[name] = RawValue{values, "--" + name};
  }
  // Without --config, the system's file (/etc/m6t/gateway.toml...) when there is one: a daemon
  // started by hand on a host without it runs from its command line alone.
  std::string path = config;
  if (path.empty()) {
    std::string fallback = std::string(kConfigDir) + "/" + role + ".toml";
    if (::access(fallback.c_str(), F_OK) == 0) path = fallback;
  }
  auto read = [&table, role, path, from_cli](RawOptions& out) -> std::optional<SettingsError> {
    RawOptions from_config;
    if (!path.empty()) {
      if (auto e = load_config(path, role, table.specs(), from_config)) return e;
    }
    out = merge(from_config, from_cli);
    return std::nullopt;
  };
  RawOptions raw;
  if (auto e = read(raw)) return usage_error(who, e->message);
  S settings;
  if (auto e = validate(raw, settings)) return usage_error(who, e->message);
  ConfigReload<S> reload(table, read, raw, path.empty() ? "the command line" : path);
  return run(settings, reload);
}

// A whole number option of a non-daemon subcommand, checked as the settings' are.
std::optional<int> small_number(const std::string& who, const std::string& name,
                                const std::string& v, int hi) {
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 0 || n > hi) {
    usage_error(who,
                "--" + name + " " + v + ": not a whole number from 0 to " + std::to_string(hi));
    return std::nullopt;
  }
  return n;
}

// What is left after parsing: a mistyped option or a stray argument.
int leftover_error(const CLI::App* cmd, const std::vector<std::string>& rest) {
  const std::string who = "m6t " + cmd->get_name();
  const std::string& first = rest.front();
  if (first.rfind("--", 0) == 0) {
    std::string name = first.substr(2, first.find('=') - 2);
    return usage_error(who, "unknown option --" + name +
                                did_you_mean(name, option_specs(cmd), "--") + "; see m6t help " +
                                cmd->get_name());
  }
  if (first.size() > 1 && first[0] == '-')
    return usage_error(who, "unknown option " + first + "; see m6t help " + cmd->get_name());
  return usage_error(who, "unexpected argument '" + first + "'; see m6t help " + cmd->get_name());
}

// What a daemon subcommand was given: its options, and --config.
struct DaemonArgs {
  Given given;
  std::string config;
};

template <class S>
Subcommand daemon_subcommand(const char* role, const char* summary, const OptionTable<S>& table,
                             DaemonArgs& args, int (*run)(const S&, ConfigReload<S>&)) {
  return {role, summary,
          [&table, &args, role](CLI::App* c) {
            add_daemon_options(c, table, args.given);
            c->add_option("--config", args.config,
                          std::string("read options from the [") + role +
                              "] table of a TOML file (the command line wins) [default " +
                              kConfigDir + "/" + role + ".toml, when it exists]")
                ->type_name("FILE");
          },
          [&table, &args, role, run] {
            return run_daemon<S>(role, table, args.given, args.config, run);
          }};
}

std::vector<OptionSpec> subcommand_specs(const std::vector<Subcommand>& table) {
  std::vector<OptionSpec> out;
  for (const auto& s : table)
    out.push_back({s.name, OptionKind::kValue, "", "", false, ""});
  return out;
}

// What the non-daemon subcommands were given.
struct OtherArgs {
  ShowOptions show;
  std::vector<std::string> show_args;
  std::string ula, subnet, mn_id, slice_bits, slice;
  std::string cluster_path, cluster_node;
  bool cluster_m6t = false;
  std::string check_path;
};

// m6t show [IFACE|all] [dump], as `wg show`.
int show_command(OtherArgs& a) {
  for (const auto& arg : a.show_args) {
    if (arg == "dump") {
      a.show.dump = true;
    } else if (a.show.iface.empty() && !a.show.dump) {
      a.show.iface = arg;
    } else {
      return usage_error("m6t show",
                         "unexpected argument '" + arg + "'; usage: m6t show [IFACE|all] [dump]");
    }
  }
  if (a.show.json + a.show.metrics + a.show.dump > 1)
    return usage_error("m6t show", "--json, --metrics and dump exclude each other");
  return run_show(a.show);
}

int prefix_command(const OtherArgs& a) {
  PrefixOptions p{a.ula, -1, -1, -1, -1};
  for (auto [name, text, out, max] : {std::tuple{"subnet", &a.subnet, &p.subnet, 65535},
                                      std::tuple{"mn-id", &a.mn_id, &p.mn_id, 65535},
                                      std::tuple{"slice-bits", &a.slice_bits, &p.slice_bits, 15},
                                      std::tuple{"slice", &a.slice, &p.slice, 32767}}) {
    if (text->empty()) continue;
    auto n = small_number("m6t prefix", name, *text, max);
    if (!n) return kExitUsage;
    *out = *n;
  }
  return run_prefix(p);
}

std::vector<Subcommand> subcommand_table(DaemonArgs& gateway, DaemonArgs& client, OtherArgs& a) {
  return {
      daemon_subcommand("gateway", "run the tunnel gateway in front of (or on) the home agent",
                        gateway_options(), gateway, &run_gateway),
      daemon_subcommand("client", "run the tunnel client on the mobile node", client_options(),
                        client, &run_client),
      {"show", "show the state of running daemons: m6t show [IFACE|all] [dump]",
       [&a](CLI::App* c) {
         c->add_option("ARGS", a.show_args,
                       "a daemon's TUN device (or all), then dump for tab-separated lines")
             ->type_name("[IFACE|all] [dump]");
         c->add_flag("--json", a.show.json,
                     "machine-readable output: a list of daemons (docs/show.md)");
         c->add_flag("--metrics", a.show.metrics, "Prometheus text format");
         c->add_option("--state", a.show.state, "one MN's state, by its tunnel address")
             ->type_name("ADDR");
         c->add_option("--control", a.show.control,
                       "one daemon's control socket [default: every daemon in /run/m6t]")
             ->type_name("PATH");
       },
       [&a] { return show_command(a); }},
      {"prefix", "print a fresh RFC 4193 ULA /48, a slice of it, or the /80 of one MN (§2.2)",
       [&a](CLI::App* c) {
         c->add_option("--ula", a.ula, "the /48 to use [default: a fresh one]")
             ->type_name("PREFIX/48");
         c->add_option("--subnet", a.subnet, "16-bit subnet ID [0 to 65535, default 0]")
             ->type_name("N");
         c->add_option("--mn-id", a.mn_id, "16-bit MN ID [0 to 65535]")->type_name("N");
         c->add_option("--slice-bits", a.slice_bits,
                       "split the /48 into 2^N slices for a cluster of gateways [1 to 15]")
             ->type_name("N");
         c->add_option("--slice", a.slice,
                       "with --slice-bits: that slice's prefix, or with --mn-id the /80 of "
                       "--subnet within it")
             ->type_name("N");
       },
       [&a] { return prefix_command(a); }},
      {"cluster",
       "a node's BIRD 2 configuration, or a gateway's m6t settings, from a cluster description "
       "(slices over BGP): m6t cluster FILE NODE [--m6t]",
       [&a](CLI::App* c) {
         c->add_option("FILE", a.cluster_path, "the cluster description (TOML) [required]")
             ->required();
         c->add_option("NODE", a.cluster_node, "a [[gateway]] or [[router]] name [required]")
             ->required();
         c->add_flag("--m6t", a.cluster_m6t,
                     "the gateway's m6t settings (listen, announce) instead of BIRD's");
       },
       [&a] { return run_cluster(a.cluster_path, a.cluster_node, a.cluster_m6t); }},
      {"check-config",
       "validate a configuration file, as the daemons would at start (the user exists, the "
       "control socket's directory, the hook...)",
       [&a](CLI::App* c) {
         c->add_option("FILE", a.check_path,
                       "TOML file with a [gateway] and/or [client] table [required]")
             ->required();
       },
       [&a] { return run_check_config(a.check_path); }},
      {"help", "show the subcommands, or the options of one: m6t help SUBCOMMAND", [](CLI::App*) {},
       [] { return kExitOk; }},
  };
}

// What CLI11 would word poorly: no subcommand, an unknown one, `m6t help [SUBCOMMAND]`.
// Returns the exit status when the arguments end here.
std::optional<int> before_parsing(const std::vector<std::string>& args, const CLI::App& app,
                                  const std::map<std::string, CLI::App*>& subs,
                                  const std::vector<OptionSpec>& names) {
  if (args.empty())
    return usage_error("m6t",
                       "no subcommand given (gateway, client, show, prefix, cluster, "
                       "check-config); see m6t help");
  const std::string& first = args.front();
  if (first == "help") {
    if (args.size() == 1) {
      std::cout << app.help();
      return kExitOk;
    }
    auto it = subs.find(args[1]);
    if (it == subs.end() || args.size() > 2)
      return usage_error("m6t help", "no subcommand '" + args[1] + "'" +
                                         did_you_mean(args[1], names, "") + "; see m6t help");
    std::cout << it->second->help("m6t");
    return kExitOk;
  }
  if (first.empty() || first[0] != '-') {
    if (!subs.count(first))
      return usage_error("m6t", "unknown subcommand '" + first + "'" +
                                    did_you_mean(first, names, "") + "; see m6t help");
  } else if (first != "-h" && first != "--help" && first != "--version") {
    return usage_error(
        "m6t", "unknown option " + first + " (options go after the subcommand); see m6t help");
  }
  return std::nullopt;
}

// CLI11 words a missing value as "--mtu: 1 required N missing".
std::string parse_error_text(const CLI::ParseError& e) {
  std::string what = e.what();
  if (auto colon = what.find(": ");
      colon != std::string::npos && what.rfind("missing") == what.size() - 7)
    what = what.substr(0, colon) + " needs a value";
  return what;
}

}  // namespace

namespace {

// The parser: the application, its subcommands from the table, and what they fill in.
struct Cli {
  CLI::App app{
      "m6t: IPv6 connectivity for Mobile IPv6 nodes stuck behind IPv4-only NATs "
      "(draft-ebalard-mext-m6t: an IPv6-in-UDP/IPv4 tunnel to a gateway in front of the home "
      "agent).",
      "m6t"};
  DaemonArgs gateway, client;
  OtherArgs other;
  std::vector<Subcommand> table;
  std::map<std::string, CLI::App*> subs;

  Cli() {
    app.formatter(std::make_shared<HelpFormatter>());
    app.set_version_flag("--version", std::string("m6t ") + kVersion, "print the version and exit");
    app.set_help_flag("-h,--help", "print this help and exit");
    app.require_subcommand(1);
    table = subcommand_table(gateway, client, other);
    for (const auto& s : table) {
      CLI::App* c = app.add_subcommand(s.name, s.summary);
      c->set_help_flag("-h,--help", "print this help and exit");
      c->allow_extras();
      s.define(c);
      subs[s.name] = c;
    }
    app.footer("Run `m6t help SUBCOMMAND` for the options of each.");  // not the subcommands'
  }
};

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  Cli cli;
  CLI::App& app = cli.app;
  const auto& table = cli.table;
  auto& subs = cli.subs;
  if (auto done = before_parsing(args, app, subs, subcommand_specs(table))) return *done;

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error("m6t " + args.front(),
                       parse_error_text(e) + "; see m6t help " + args.front());
  }
  for (const auto& s : table) {
    CLI::App* c = subs[s.name];
    if (!c->parsed()) continue;
    if (auto rest = c->remaining(); !rest.empty()) return leftover_error(c, rest);
    return s.run();
  }
  return kExitUsage;
}

std::vector<CliSubcommandDoc> cli_reference() {
  Cli cli;
  std::vector<CliSubcommandDoc> out;
  for (const auto& s : cli.table) {
    CliSubcommandDoc d{s.name, s.summary, {}};
    for (const CLI::Option* o : cli.subs[s.name]->get_options()) {
      if (o->get_name() == "-h,--help" || o->get_lnames() == std::vector<std::string>{"help"})
        continue;
      CliOptionDoc od;
      od.positional = o->get_positional();
      od.name = od.positional ? o->get_name() : "--" + o->get_lnames().front();
      if (o->get_type_size_max() != 0) od.metavar = o->get_type_name();
      od.help = o->get_description();
      d.options.push_back(std::move(od));
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace m6t::app
