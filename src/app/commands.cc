#include "app/commands.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cluster.h"
#include "app/metrics.h"
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

namespace {

using nlohmann::json;

constexpr auto kControlTimeout = std::chrono::milliseconds(3000);

std::optional<json> ask(const std::string& path, const std::string& request) {
  auto answer = os::control_request(path, request, kControlTimeout);
  if (!answer) {
    std::fprintf(stderr, "m6t show: %s\n", answer.error().c_str());
    return std::nullopt;
  }
  auto doc = json::parse(*answer, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::fprintf(stderr, "m6t show: %s: answer is not a JSON object\n", path.c_str());
    return std::nullopt;
  }
  return doc;
}

// The states of a gateway's document, every page of them (status_model.h: kStatesPerPage),
// or the one MN's asked for.
bool fill_states(const std::string& path, json& doc, const ShowOptions& o) {
  if (doc.value("role", "") != "gateway") return true;
  if (!o.state.empty()) {
    auto one = ask(path, "state " + o.state);
    if (!one) return false;
    if (one->contains("error")) {
      std::fprintf(stderr, "m6t show: --state %s: %s\n", o.state.c_str(),
                   (*one)["error"].get<std::string>().c_str());
      return false;
    }
    doc["states"] = json::array();
    if (!(*one)["state"].is_null()) doc["states"].push_back((*one)["state"]);
    doc["states_next"] = nullptr;
    return true;
  }
  while (doc.contains("states_next") && doc["states_next"].is_number_unsigned()) {
    auto page = ask(path, "states " + std::to_string(doc["states_next"].get<std::uint32_t>()));
    if (!page) return false;
    for (auto& s : (*page)["states"])
      doc["states"].push_back(std::move(s));
    doc["states_next"] = (*page)["states_next"];
  }
  return true;
}

std::string field(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

std::string joined(const json& list) {
  std::string s;
  for (const auto& v : list)
    s += (s.empty() ? "" : ",") + v.get<std::string>();
  return s.empty() ? "-" : s;
}

// `m6t show dump` (m6t(8) gives the columns): a line per daemon, then a line per state.
void print_dump(const json& all) {
  for (const auto& d : all) {
    const std::string tun = field(d, "tun");
    if (d.value("role", "") == "gateway") {
      std::cout << tun << "\tgateway\t" << joined(d.value("listen", json::array())) << "\t"
                << field(d, "prefix") << "\t" << field(d, "states_active") << "\t"
                << field(d, "states_temporary") << "\t" << field(d, "started_unix") << "\n";
      for (const auto& s : d.value("states", json::array()))
        std::cout << tun << "\t" << field(s, "mn") << "\t" << field(s, "nat") << "\t"
                  << field(s, "local") << "\t" << field(s, "kind") << "\t"
                  << field(s, "created_unix") << "\t" << field(s, "last_packet_unix") << "\t"
                  << field(s, "expires_unix") << "\t" << s["from_mn"].value("packets", 0) << "\t"
                  << s["from_mn"].value("bytes", 0) << "\t" << s["to_mn"].value("packets", 0)
                  << "\t" << s["to_mn"].value("bytes", 0) << "\t" << field(s, "mtu") << "\n";
    } else {
      const json up = d.value("uplink", json::object());
      std::cout << tun << "\tclient\t" << field(d, "state") << "\t" << field(d, "address") << "\t"
                << field(d, "gateway") << "\t" << field(up, "address") << "\t" << field(d, "mtu")
                << "\t" << field(d, "started_unix") << "\n";
    }
  }
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
  json all = json::array();
  int status = kExitOk;
  for (const auto& path : paths) {
    auto doc = ask(path, options.metrics ? "summary" : "show");
    if (!doc) {
      status = kExitFailure;
      continue;
    }
    if (!options.iface.empty() && options.iface != "all" && doc->value("tun", "") != options.iface)
      continue;
    (*doc)["control"] = path;
    if (!options.metrics && !fill_states(path, *doc, options)) {
      status = kExitFailure;
      continue;
    }
    all.push_back(std::move(*doc));
  }
  if (!options.iface.empty() && options.iface != "all" && all.empty() && status == kExitOk) {
    std::fprintf(stderr, "m6t show: no daemon with TUN device %s\n", options.iface.c_str());
    return kExitFailure;
  }
  if (options.metrics)
    std::cout << prometheus_text(all);
  else if (options.json)
    std::cout << all.dump(2) << "\n";  // always a list of daemons (docs/show.md)
  else if (options.dump)
    print_dump(all);
  else
    for (std::size_t i = 0; i < all.size(); ++i)
      std::cout << (i ? "\n" : "") << format_status(all[i]);
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
  if ((o.slice < 0) != (o.slice_bits < 0)) {
    std::fprintf(stderr, "m6t prefix: --slice and --slice-bits go together\n");
    return kExitUsage;
  }
  if (o.mn_id < 0) {
    if (o.subnet >= 0) {
      std::fprintf(stderr, "m6t prefix: --subnet needs --mn-id (the /80 of one MN)\n");
      return kExitUsage;
    }
    if (o.slice >= 0) {
      auto sp = core::make_slice_prefix(p48, static_cast<unsigned>(o.slice_bits),
                                        static_cast<std::uint32_t>(o.slice));
      if (!sp) {
        std::fprintf(stderr, "m6t prefix: --slice %d: not one of the 2^%d slices\n", o.slice,
                     o.slice_bits);
        return kExitUsage;
      }
      std::cout << sp->to_string() << "\n";
      return kExitOk;
    }
    std::cout << p48.to_string() << "\n";
    return kExitOk;
  }
  std::uint16_t subnet = static_cast<std::uint16_t>(std::max(o.subnet, 0));
  if (o.slice >= 0) {
    auto id = core::slice_subnet_id(static_cast<unsigned>(o.slice_bits),
                                    static_cast<std::uint32_t>(o.slice),
                                    static_cast<std::uint32_t>(std::max(o.subnet, 0)));
    if (!id) {
      std::fprintf(stderr,
                   "m6t prefix: --slice %d --subnet %d: a slice of %d bits has slices 0 to %d "
                   "of subnets 0 to %d\n",
                   o.slice, std::max(o.subnet, 0), o.slice_bits, (1 << o.slice_bits) - 1,
                   (1 << (16 - o.slice_bits)) - 1);
      return kExitUsage;
    }
    subnet = *id;
  }
  auto p80 = core::make_mn_prefix(p48, subnet, static_cast<std::uint16_t>(o.mn_id));
  std::cout << p80->to_string() << "\n";
  return kExitOk;
}

int run_cluster(const std::string& path, const std::string& node, bool m6t_settings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "m6t cluster: %s: %s\n", path.c_str(), std::strerror(errno));
    return kExitUsage;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_cluster(text.str(), path);
  if (auto* e = std::get_if<std::string>(&parsed)) {
    std::fprintf(stderr, "m6t cluster: %s\n", e->c_str());
    return kExitUsage;
  }
  const Cluster& c = std::get<Cluster>(parsed);
  const std::string out =
      m6t_settings ? gateway_settings(c, node, path) : bird_config(c, node, path);
  if (out.empty()) {
    std::fprintf(stderr, "m6t cluster: %s: no %s named '%s'\n", path.c_str(),
                 m6t_settings ? "[[gateway]]" : "[[gateway]] or [[router]]", node.c_str());
    return kExitUsage;
  }
  std::cout << out;
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
