// m6t-docgen: the reference parts of the man pages and the bash completion, generated at
// build time from the tables the parser is built from (app/cli.h, app/settings.h), so that no
// option can be missing from either. Never installed.
//
//   m6t-docgen man TEMPLATE.scd.in OUT   the template with each "@name@" line replaced
//   m6t-docgen bash-completion OUT       a bash completion script for m6t
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/settings.h"

namespace {

using m6t::app::CliOptionDoc;
using m6t::app::CliSubcommandDoc;
using m6t::app::OptionKind;
using m6t::app::OptionSpec;

// scdoc's inline markup is * and _; a line starting with a tab or # means something too.
std::string scdoc_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void options_scdoc(std::ostream& o, const CliSubcommandDoc& sub) {
  for (const CliOptionDoc& opt : sub.options) {
    o << (opt.positional ? "_" + scdoc_text(opt.name) + "_" : "*" + scdoc_text(opt.name) + "*");
    if (!opt.metavar.empty()) o << " _" << scdoc_text(opt.metavar) << "_";
    o << "\n\t" << scdoc_text(opt.help) << "\n\n";
  }
}

// m6t.toml(5): each key of a [section] with its TOML type.
template <class S>
void keys_scdoc(std::ostream& o, const m6t::app::OptionTable<S>& table) {
  for (const auto& opt : table.options()) {
    const OptionSpec& spec = opt.spec;
    std::string type = spec.kind == OptionKind::kFlag   ? "boolean"
                       : spec.kind == OptionKind::kList ? "array of strings"
                       : spec.range.empty()             ? "string"
                                                        : "integer";
    o << "*" << scdoc_text(spec.name) << "* (" << type << ")\n\t"
      << scdoc_text(m6t::app::describe(opt)) << "\n\n";
  }
}

const CliSubcommandDoc* find(const std::vector<CliSubcommandDoc>& ref, const std::string& name) {
  for (const auto& s : ref)
    if (s.name == name) return &s;
  return nullptr;
}

int man(const char* path, std::ostream& out) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "m6t-docgen: cannot read %s\n", path);
    return 1;
  }
  const auto ref = m6t::app::cli_reference();
  std::string line;
  while (std::getline(in, line)) {
    if (line == "@subcommands@") {
      for (const auto& s : ref)
        out << "*m6t " << s.name << "*\n\t" << scdoc_text(s.summary) << "\n\n";
    } else if (line.rfind("@options ", 0) == 0 && line.back() == '@') {
      std::string name = line.substr(9, line.size() - 10);
      const CliSubcommandDoc* s = find(ref, name);
      if (!s) {
        std::fprintf(stderr, "m6t-docgen: %s: no subcommand '%s'\n", path, name.c_str());
        return 1;
      }
      options_scdoc(out, *s);
    } else if (line == "@keys gateway@") {
      keys_scdoc(out, m6t::app::gateway_options());
    } else if (line == "@keys client@") {
      keys_scdoc(out, m6t::app::client_options());
    } else {
      out << line << "\n";
    }
  }
  return 0;
}

// Completes subcommands, then each subcommand's options; files for FILE/PATH/DIR values,
// the modes of --fast-path and --log-level, interface names for --tun and --uplink.
int bash_completion(std::ostream& out) {
  const auto ref = m6t::app::cli_reference();
  std::ostringstream subs, cases;
  for (const auto& s : ref) {
    subs << (subs.tellp() > 0 ? " " : "") << s.name;
    if (s.name == "help") continue;
    std::ostringstream opts;
    for (const auto& o : s.options)
      if (!o.positional) opts << (opts.tellp() > 0 ? " " : "") << o.name;
    cases << "    " << s.name << ") opts=\"" << opts.str() << " --help\" ;;\n";
  }
  out << "# bash completion for m6t(8), generated from its option table by m6t-docgen.\n"
         "_m6t() {\n"
         "  local cur prev sub opts\n"
         "  cur=${COMP_WORDS[COMP_CWORD]}\n"
         "  prev=${COMP_WORDS[COMP_CWORD-1]}\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W \""
      << subs.str()
      << " --version --help\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  sub=${COMP_WORDS[1]}\n"
         "  case $prev in\n"
         "    --config|--hook|--control) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
         "    --claims-dir|--state-dir) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
         "    --fast-path) COMPREPLY=($(compgen -W \"auto on off\" -- \"$cur\")); return ;;\n"
         "    --log-level) COMPREPLY=($(compgen -W \"error warn info debug\" -- \"$cur\"));"
         " return ;;\n"
         "    --log-target) COMPREPLY=($(compgen -W \"stderr syslog journal\" -- \"$cur\"));"
         " return ;;\n"
         "    --tun|--uplink) COMPREPLY=($(compgen -W \"$(ls /sys/class/net 2>/dev/null)\""
         " -- \"$cur\")); return ;;\n"
         "    --user) COMPREPLY=($(compgen -u -- \"$cur\")); return ;;\n"
         "  esac\n"
         "  case $sub in\n"
      << cases.str() << "    help) COMPREPLY=($(compgen -W \"" << subs.str()
      << "\" -- \"$cur\")); return ;;\n"
         "    *) return ;;\n"
         "  esac\n"
         "  if [ \"$sub\" = check-config ] && [[ $cur != -* ]]; then\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\")); return\n"
         "  fi\n"
         "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "}\n"
         "complete -F _m6t m6t\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2 || !((args[0] == "man" && args.size() == 3) ||
                           (args[0] == "bash-completion" && args.size() == 2))) {
    std::fprintf(stderr, "usage: m6t-docgen man TEMPLATE OUT | m6t-docgen bash-completion OUT\n");
    return 2;
  }
  std::ofstream out(args.back());
  int status = args[0] == "man" ? man(argv[2], out) : bash_completion(out);
  out.close();
  if (status == 0 && !out) {
    std::fprintf(stderr, "m6t-docgen: cannot write %s\n", args.back().c_str());
    return 1;
  }
  return status;
}
