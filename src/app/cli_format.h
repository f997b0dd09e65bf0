// How `m6t --help` looks: 80 columns, descriptions wrapped beside the options, a metavar
// after each option that takes a value, and nothing of the parser's own notation (no
// "TEXT REQUIRED", no "N:INT in [0 - 65535]"): ranges, defaults and "required" are written by
// settings.h's describe() into the description itself.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace m6t::app {

inline constexpr std::size_t kHelpWidth = 80;

// `text` wrapped at word boundaries to lines of at most `width` columns of text (a longer
// word stands alone), each line but the first preceded by `indent` spaces.
std::string wrap(const std::string& text, std::size_t width, std::size_t indent = 0);

class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter();
  std::string make_option(const CLI::Option* opt, bool is_positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_description(const CLI::App* app) const override;

 private:
  // "  --listen ADDR:PORT" beside its wrapped description.
  static std::string entry(const std::string& left, const std::string& description);
};

}  // namespace m6t::app
