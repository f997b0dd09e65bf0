#include "app/commands.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/preflight.h"
#include "app/status_text.h"
#include "core/address.h"
#include "os/control.h"
#include "os/privileges.h"
#include "os/random.h"

namespace m6t::app {

namespace {

std::vector<std::string> control_sockets() {
  std::vector<std::string> out;
  DIR* d = opendir(kControlDir);
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".sock")
      out.push_back(std::string(kControlDir) + "/" + name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int run_show(const ShowOptions& options) {
  std::vector<std::string> paths;
  if (!options.control.empty())
    paths.push_back(options.control);
  else
    paths = control_sockets();
  if (paths.empty()) {
    std::fprintf(stderr, "m6t show: no running daemon found in %s (use --control PATH)\n",
                 kControlDir);
    return kExitFailure;
  }
  nlohmann::json all = nlohmann::json::array();
  int status = kExitOk;
  for (const auto& path : paths) {
    auto answer = os::control_request(path, "show", std::chrono::milliseconds(3000));
    if (!answer) {
      std::fprintf(stderr, "m6t show: %s\n", answer.error().c_str());
      status = kExitFailure;
      continue;
    }
    auto doc = nlohmann::json::parse(*answer, nullptr, false);
    if (doc.is_discarded()) {
      std::fprintf(stderr, "m6t show: %s: answer is not JSON\n", path.c_str());
      status = kExitFailure;
      continue;
    }
    doc["control"] = path;
    all.push_back(std::move(doc));
  }
  if (options.json) {
    // One daemon asked by name: its object. Several found: an array of them.
    std::cout << (options.control.empty() ? all.dump(2) : (all.empty() ? "null" : all[0].dump(2)))
              << "\n";
  } else {
    for (std::size_t i = 0; i < all.size(); ++i)
      std::cout << (i ? "\n" : "") << format_status(all[i]);
  }
  return status;
}

int run_prefix(const PrefixOptions& o) {
  core::Ipv6Prefix p48;
  if (o.ula.empty()) {
    os::SystemRandom rng;
    p48 = core::make_ula48(rng);
  } else {
    auto p = core::Ipv6Prefix::parse(o.ula);
    if (!p) {
      std::fprintf(stderr, "m6t prefix: --ula %s: %s\n", o.ula.c_str(),
                   std::string(core::prefix_parse_error(o.ula)).c_str());
      return kExitUsage;
    }
    if (p->len != 48) {
      std::fprintf(stderr, "m6t prefix: --ula %s: must be a /48 (§2.2)\n", o.ula.c_str());
      return kExitUsage;
    }
    p48 = *p;
  }
  if (o.mn_id < 0) {
    if (o.subnet >= 0) {
      std::fprintf(stderr, "m6t prefix: --subnet needs --mn-id (the /80 of one MN)\n");
      return kExitUsage;
    }
    std::cout << p48.to_string() << "\n";
    return kExitOk;
  }
  auto p80 = core::make_mn_prefix(p48, static_cast<std::uint16_t>(std::max(o.subnet, 0)),
                                  static_cast<std::uint16_t>(o.mn_id));
  std::cout << p80->to_string() << "\n";
  return kExitOk;
}

int run_check_config(const std::string& path) {
  std::vector<std::string> sections;
  if (auto e = config_sections(path, sections)) {
    std::fprintf(stderr, "m6t check-config: %s\n", e->message.c_str());
    return kExitUsage;
  }
  auto privileges = os::make_privileges();
  for (const auto& section : sections) {
    RawOptions raw;
    std::optional<SettingsError> e;
    std::string summary;
    // The checks a daemon makes before it installs anything come after the file's own.
    auto check = [&](const auto& settings) {
      if (e) return;
      if (auto st = preflight(settings, *privileges); !st)
        e = SettingsError{path + ": " + st.error()};
    };
    if (section == "gateway") {
      e = load_config(path, section, gateway_options().specs(), raw);
      GatewaySettings g;
      if (!e) e = validate(raw, g);
      check(g);
      if (!e)
        summary = std::to_string(g.listen.size()) + " listening endpoint(s), prefix " +
                  g.engine.mn_prefix.to_string() + ", " +
                  std::to_string(g.engine.home_agents.size()) + " home agent(s)";
    } else {
      e = load_config(path, section, client_options().specs(), raw);
      ClientSettings c;
      if (!e) e = validate(raw, c);
      check(c);
      if (!e)
        summary = std::to_string(c.engine.gateways.size()) + " gateway(s), prefix " +
                  c.engine.prefix.to_string();
    }
    if (e) {
      std::fprintf(stderr, "m6t check-config: %s\n", e->message.c_str());
      return kExitUsage;
    }
    std::cout << path << ": [" << section << "] ok: " << summary << "\n";
  }
  return kExitOk;
}

}  // namespace m6t::app
