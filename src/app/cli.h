// The m6t command line: one binary, a table of subcommands (as `wg`), each option of the
// daemons taken from its settings table (settings.h).
#pragma once

#include <string>
#include <vector>

namespace m6t::app {

// Parses `args` (without the program name) and runs the subcommand; returns the exit status
// (commands.h). Usage errors print one line naming what is wrong and return 2.
int run_cli(const std::vector<std::string>& args);

// The command line as the man page and the shell completion describe it, read from the same
// table the parser is built from (so neither can miss an option).
struct CliOptionDoc {
  std::string name;     // "--listen", or a positional's name ("FILE")
  std::string metavar;  // "ADDR:PORT"; empty for a flag
  std::string help;     // with the range and default, as --help shows it
  bool positional = false;
};
struct CliSubcommandDoc {
  std::string name;
  std::string summary;
  std::vector<CliOptionDoc> options;  // -h/--help left out
};
std::vector<CliSubcommandDoc> cli_reference();

}  // namespace m6t::app
