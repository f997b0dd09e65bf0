// m6t: one binary, a table of subcommands (app/cli.cc).
#include <string>
#include <vector>

#include "app/cli.h"

int main(int argc, char** argv) {
  return m6t::app::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
