// The m6t command line: one binary, a table of subcommands (as `wg`), each option of the
// daemons taken from its settings table (settings.h).
#pragma once

#include <string>
#include <vector>

namespace m6t::app {

// Parses `args` (without the program name) and runs the subcommand; returns the exit status
// (commands.h). Usage errors print one line naming what is wrong and return 2.
int run_cli(const std::vector<std::string>& args);

}  // namespace m6t::app
