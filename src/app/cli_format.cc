#include "app/cli_format.h"

#include <sstream>

namespace m6t::app {

namespace {

// The description column: wide enough for "--temp-lifetime-ms N" and the like.
constexpr std::size_t kDescriptionColumn = 26;

// UTF-8 continuation bytes take no column ("§" is two bytes, one column).
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

}  // namespace

std::string wrap(const std::string& text, std::size_t width, std::size_t indent) {
  std::istringstream words(text);
  std::string out, line, word;
  const std::string pad(indent, ' ');
  while (words >> word) {
    if (!line.empty() && columns(line) + 1 + columns(word) > width) {
      out += (out.empty() ? "" : pad) + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += (out.empty() ? "" : pad) + line + "\n";
  return out;
}

HelpFormatter::HelpFormatter() {
  column_width(kDescriptionColumn);
}

std::string HelpFormatter::entry(const std::string& left, const std::string& description) {
  if (description.empty()) return left + "\n";
  std::string body = wrap(description, kHelpWidth - kDescriptionColumn, kDescriptionColumn);
  if (columns(left) + 2 > kDescriptionColumn)
    return left + "\n" + std::string(kDescriptionColumn, ' ') + body;
  return left + std::string(kDescriptionColumn - columns(left), ' ') + body;
}

std::string HelpFormatter::make_option(const CLI::Option* opt, bool is_positional) const {
  std::string name = make_option_name(opt, is_positional);
  for (std::size_t at = name.find(','); at != std::string::npos; at = name.find(',', at + 2))
    name.replace(at, 1, ", ");
  return entry("  " + name + make_option_opts(opt), make_option_desc(opt));
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  // A positional's name is its metavar already; a flag takes nothing.
  if (opt->get_positional() || opt->get_type_size() == 0) return "";
  return " " + opt->get_type_name();
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  return opt->get_description();
}

std::string HelpFormatter::make_subcommand(const CLI::App* sub) const {
  return entry("  " + sub->get_name(), sub->get_description());
}

std::string HelpFormatter::make_description(const CLI::App* app) const {
  std::string d = app->get_description();
  if (d.empty()) return "";
  std::string out;
  std::istringstream paragraphs(d);
  for (std::string p; std::getline(paragraphs, p);)
    out += wrap(p, kHelpWidth);
  return out + "\n";
}

}  // namespace m6t::app
