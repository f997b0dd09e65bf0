#include "app/cluster.h"

#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "app/settings.h"

namespace m6t::app {

namespace {

// A TOML table read key by key: every key must be known, every value of its type and range;
// the first error ends the reading, as "FILE:LINE: what".
class TableReader {
 public:
  TableReader(const toml::table& t, std::string path, std::string what)
      : t_(t), path_(std::move(path)), what_(std::move(what)) {}

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  template <class F>
  void field(const char* key, bool required, F&& read) {
    seen_.insert(key);
    if (!ok()) return;
    const toml::node* n = t_.get(key);
    if (!n) {
      if (required) fail(t_.source(), std::string("missing '") + key + "'");
      return;
    }
    if (std::string why = read(*n); !why.empty())
      fail(n->source(), "'" + std::string(key) + "' " + why);
  }
  // Keys nobody asked for are typos.
  void no_other_keys() {
    if (!ok()) return;
    for (const auto& [k, v] : t_)
      if (!seen_.count(std::string(k.str()))) {
        fail(v.source(), "unknown key '" + std::string(k.str()) + "'");
        return;
      }
  }
  void fail(const toml::source_region& where, const std::string& why) {
    if (ok()) error_ = path_ + ":" + std::to_string(where.begin.line) + ": " + what_ + ": " + why;
  }

 private:
  const toml::table& t_;
  std::string path_;
  std::string what_;
  std::set<std::string> seen_;
  std::string error_;
};

template <class T>
auto number(T& out, std::int64_t lo, std::int64_t hi) {
  return [&out, lo, hi](const toml::node& n) -> std::string {
    // Only an integer is asked for its value: toml++ 3.3 converts a float to an integer with
    // an unchecked cast (undefined for a large one; found by fuzz/fuzz_cluster.cc).
    auto v = n.is_integer() ? n.value<std::int64_t>() : std::nullopt;
    if (!v || *v < lo || *v > hi)
      return "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
    out = static_cast<T>(*v);
    return {};
  };
}

auto text(std::string& out) {
  return [&out](const toml::node& n) -> std::string {
    auto v = n.value<std::string>();
    if (!n.is_string() || !v || v->empty()) return "must be a non-empty string";
    // Names end up in BIRD protocol names: letters, digits and underscores only.
    if (!std::all_of(v->begin(), v->end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        }))
      return "may hold letters, digits and '_' only";
    out = *v;
    return {};
  };
}

template <class A>
auto address(A& out) {
  return [&out](const toml::node& n) -> std::string {
    auto v = n.value<std::string>();
    auto a = v ? A::parse(*v) : std::nullopt;
    if (!a) return "is not an address";
    out = *a;
    return {};
  };
}

// A BGP session's address: unicast.
auto session4(core::Ipv4Addr& out) {
  return [&out](const toml::node& n) -> std::string {
    if (std::string why = address(out)(n); !why.empty()) return why;
    if (out.is_unspecified() || out.value >> 28 >= 0xe) return "must be a unicast address";
    return {};
  };
}
auto session6(core::Ipv6Addr& out) {
  return [&out](const toml::node& n) -> std::string {
    if (std::string why = address(out)(n); !why.empty()) return why;
    if (out.is_unspecified() || out.is_multicast() || out.is_loopback())
      return "must be a unicast address";
    return {};
  };
}

}  // namespace

namespace {
std::variant<Cluster, std::string> parse(std::string_view text_in, const std::string& path);
}  // namespace

std::variant<Cluster, std::string> parse_cluster(std::string_view text, const std::string& path) {
  auto r = parse(text, path);
  // One line, whatever the file held (SettingsError escapes control characters, as for the
  // daemons' own files: a quoted key or value may hold a newline).
  if (auto* e = std::get_if<std::string>(&r)) return SettingsError(*e).message;
  return r;
}

namespace {

std::variant<Cluster, std::string> parse(std::string_view text_in, const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse(text_in, path);
  } catch (const toml::parse_error& e) {
    return path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
  }
  Cluster c;
  {
    const toml::table* t = doc["cluster"].as_table();
    if (!t) return path + ": no [cluster] table";
    TableReader r(*t, path, "[cluster]");
    r.field("prefix", true, address(c.prefix));
    r.field("slice-bits", true, number(c.slice_bits, 1, 15));
    r.field("port", false, number(c.port, 1, 65535));
    r.field("announce-table", false, number(c.announce_table, 1, 252));
    r.field("gateway-as", true, number(c.gateway_as, 1, 4294967294));
    r.field("bfd-interval-ms", false, number(c.bfd_interval_ms, 10, 10000));
    r.field("bfd-multiplier", false, number(c.bfd_multiplier, 2, 255));
    r.field("drain-ms", false, number(c.drain_ms, 0, 60000));
    r.field("burst", false, number(c.burst, 1, 1000000));
    r.no_other_keys();
    if (!r.ok()) return r.error();
    if (c.prefix.len != 48) {
      r.fail(t->source(), "prefix must be a /48 (§2.2)");
      return r.error();
    }
    if (std::string why = unusable_mn_prefix(c.prefix); !why.empty()) {
      r.fail(t->source(), "prefix: " + why);
      return r.error();
    }
  }
  std::set<std::string> names;
  auto unique_name = [&](TableReader& r, const toml::table& t, const std::string& name) {
    if (r.ok() && !names.insert(name).second) r.fail(t.source(), "name '" + name + "' used twice");
  };
  auto tables = [&](const char* key) {
    std::vector<const toml::table*> out;
    if (const toml::array* a = doc[key].as_array())
      for (const auto& n : *a)
        if (const toml::table* t = n.as_table()) out.push_back(t);
    return out;
  };
  for (const toml::table* t : tables("router")) {
    ClusterRouter x;
    TableReader r(*t, path, "[[router]]");
    r.field("name", true, text(x.name));
    r.field("as", true, number(x.as, 1, 4294967294));
    r.field("ipv4", true, session4(x.ipv4));
    r.field("ipv6", true, session6(x.ipv6));
    r.no_other_keys();
    unique_name(r, *t, x.name);
    if (r.ok() && x.as == c.gateway_as)
      r.fail(t->source(), "as: the routers and the gateways must be in different ASes (eBGP)");
    if (!r.ok()) return r.error();
    c.routers.push_back(x);
  }
  for (const toml::table* t : tables("gateway")) {
    ClusterGateway x;
    TableReader r(*t, path, "[[gateway]]");
    r.field("name", true, text(x.name));
    r.field("ipv4", true, session4(x.ipv4));
    r.field("ipv6", true, session6(x.ipv6));
    r.no_other_keys();
    unique_name(r, *t, x.name);
    if (!r.ok()) return r.error();
    c.gateways.push_back(x);
  }
  std::set<std::uint32_t> indexes;
  std::set<core::Ipv4Addr> services;
  for (const toml::table* t : tables("slice")) {
    ClusterSlice x;
    std::vector<std::string> ranked;
    TableReader r(*t, path, "[[slice]]");
    r.field("slice", true, number(x.index, 0, (1 << c.slice_bits) - 1));
    r.field("service", true, [&](const toml::node& n) -> std::string {
      if (std::string why = address(x.service)(n); !why.empty()) return why;
      if (x.service.is_unspecified()) return "must be an address the MNs can be sent to";
      return unservable_address(x.service);
    });
    r.field("gateways", true, [&](const toml::node& n) -> std::string {
      const toml::array* a = n.as_array();
      if (!a || a->empty()) return "must list the slice's gateways, best first";
      for (const auto& g : *a) {
        auto name = g.value<std::string>();
        if (!name) return "must list gateway names";
        auto it = std::find_if(c.gateways.begin(), c.gateways.end(),
                               [&](const ClusterGateway& gw) { return gw.name == *name; });
        if (it == c.gateways.end()) return "names '" + *name + "', which is no [[gateway]]";
        const std::size_t i = static_cast<std::size_t>(it - c.gateways.begin());
        if (std::find(x.ranked.begin(), x.ranked.end(), i) != x.ranked.end())
          return "names '" + *name + "' twice";
        x.ranked.push_back(i);
      }
      return {};
    });
    r.no_other_keys();
    if (r.ok() && !indexes.insert(x.index).second)
      r.fail(t->source(), "slice " + std::to_string(x.index) + " described twice");
    if (r.ok() && !services.insert(x.service).second)
      r.fail(t->source(), "service " + x.service.to_string() + " is another slice's already");
    if (!r.ok()) return r.error();
    x.part = *core::make_slice_prefix(c.prefix, c.slice_bits, x.index);
    c.slices.push_back(x);
  }
  for (const auto& [k, v] : doc)
    if (k != "cluster" && k != "router" && k != "gateway" && k != "slice")
      return path + ":" + std::to_string(v.source().begin.line) + ": unknown table '" +
             std::string(k.str()) + "'";
  if (c.routers.empty()) return path + ": no [[router]]: the gateways need a BGP peer";
  if (c.gateways.empty()) return path + ": no [[gateway]]";
  if (c.slices.empty()) return path + ": no [[slice]]";
  return c;
}

}  // namespace

namespace {

// The rank of gateway `g` in slice `s` (0: first), or -1.
int rank_of(const ClusterSlice& s, std::size_t g) {
  auto it = std::find(s.ranked.begin(), s.ranked.end(), g);
  return it == s.ranked.end() ? -1 : static_cast<int>(it - s.ranked.begin());
}

void bfd(std::ostringstream& o, const Cluster& c) {
  o << "# BFD on every BGP session: a silent host failure is seen within "
    << c.bfd_interval_ms * c.bfd_multiplier << " ms.\n"
    << "protocol bfd {\n  interface \"*\" {\n    min rx interval " << c.bfd_interval_ms
    << " ms;\n    min tx interval " << c.bfd_interval_ms << " ms;\n    multiplier "
    << c.bfd_multiplier << ";\n  };\n}\n\n";
}

// A gateway (or router) back from a failure is a member again within seconds: BIRD's defaults
// (5 s before connecting, 120 s between attempts, 60 s after an error such as BFD's down) are
// for the Internet, not for a few peers on one link.
constexpr const char* kSessionTimers =
    "  connect delay time 1;\n  connect retry time 5;\n  error wait time 1, 10;\n";

std::string header(const std::string& what, const std::string& source) {
  return "# BIRD 2 configuration of " + what + ", generated by `m6t cluster " + source +
         "`.\n# Do not edit: change the cluster description and generate it again.\n";
}

}  // namespace

std::string bird_config(const Cluster& c, const std::string& name, const std::string& source) {
  std::ostringstream o;
  auto gw = std::find_if(c.gateways.begin(), c.gateways.end(),
                         [&](const ClusterGateway& g) { return g.name == name; });
  if (gw != c.gateways.end()) {
    const std::size_t gi = static_cast<std::size_t>(gw - c.gateways.begin());
    o << header("gateway " + name, source + " " + name) << "router id " << gw->ipv4.to_string()
      << ";\n\nprotocol device {\n  scan time 10;\n}\n\n"
      << "# What m6t serves: the routes it keeps in table " << c.announce_table
      << " while it serves (--announce-table;\n# withdrawn at its stop, gone with its TUN "
         "device if it dies). Learned, never written.\n"
      << "ipv4 table m6t4;\nipv6 table m6t6;\n";
    for (const char* af : {"4", "6"})
      o << "protocol kernel m6t_learn" << af << " {\n  kernel table " << c.announce_table
        << ";\n  learn;\n  scan time 10;\n  ipv" << af << " { table m6t" << af
        << "; import all; export none; };\n}\n";
    o << "\n";
    bfd(o, c);
    for (const char* af : {"4", "6"}) {
      o << "# Each slice this gateway is ranked for: its AS prepended once per rank below the "
           "first.\nfilter m6t_export"
        << af << " {\n";
      for (const ClusterSlice& s : c.slices) {
        const int rank = rank_of(s, gi);
        if (rank < 0) continue;
        const std::string net = *af == '4' ? s.service.to_string() + "/32" : s.part.to_string();
        o << "  if net = " << net << " then {";
        for (int i = 0; i < rank; ++i)
          o << " bgp_path.prepend(" << c.gateway_as << ");";
        o << " accept; }  # slice " << s.index << ", rank " << rank + 1 << "\n";
      }
      o << "  reject;\n}\n";
    }
    o << "\n";
    for (const ClusterRouter& r : c.routers)
      for (const char* af : {"4", "6"}) {
        const bool v4 = *af == '4';
        o << "protocol bgp " << r.name << "_" << af << " {\n  local "
          << (v4 ? gw->ipv4.to_string() : gw->ipv6.to_string()) << " as " << c.gateway_as
          << ";\n  neighbor " << (v4 ? r.ipv4.to_string() : r.ipv6.to_string()) << " as " << r.as
          << ";\n  bfd on;\n"
          << kSessionTimers << "  ipv" << af << " { table m6t" << af
          << "; import none; export filter m6t_export" << af << "; };\n}\n";
      }
    return o.str();
  }
  auto rt = std::find_if(c.routers.begin(), c.routers.end(),
                         [&](const ClusterRouter& r) { return r.name == name; });
  if (rt == c.routers.end()) return {};
  o << header("router " + name, source + " " + name) << "router id " << rt->ipv4.to_string()
    << ";\n\nprotocol device {\n  scan time 10;\n}\n\n"
    << "# The best-ranked live gateway's routes into the main table.\n";
  for (const char* af : {"4", "6"})
    o << "protocol kernel main" << af << " {\n  ipv" << af << " { import none; export all; };\n}\n";
  o << "\n";
  bfd(o, c);
  for (const char* af : {"4", "6"}) {
    o << "# Only the cluster's slices are taken from the gateways.\nfilter m6t_import" << af
      << " {\n  if net ~ [ ";
    for (std::size_t i = 0; i < c.slices.size(); ++i)
      o << (i ? ", " : "")
        << (*af == '4' ? c.slices[i].service.to_string() + "/32" : c.slices[i].part.to_string());
    o << " ] then accept;\n  reject;\n}\n";
  }
  o << "\n";
  for (const ClusterGateway& g : c.gateways)
    for (const char* af : {"4", "6"}) {
      const bool v4 = *af == '4';
      o << "protocol bgp " << g.name << "_" << af << " {\n  local "
        << (v4 ? rt->ipv4.to_string() : rt->ipv6.to_string()) << " as " << rt->as
        << ";\n  neighbor " << (v4 ? g.ipv4.to_string() : g.ipv6.to_string()) << " as "
        << c.gateway_as << ";\n  bfd on;\n"
        << kSessionTimers << "  ipv" << af << " { import filter m6t_import" << af
        << "; export none; };\n}\n";
    }
  return o.str();
}

std::string gateway_settings(const Cluster& c, const std::string& name, const std::string& source) {
  auto gw = std::find_if(c.gateways.begin(), c.gateways.end(),
                         [&](const ClusterGateway& g) { return g.name == name; });
  if (gw == c.gateways.end()) return {};
  const std::size_t gi = static_cast<std::size_t>(gw - c.gateways.begin());
  std::ostringstream o;
  o << "# m6t settings of gateway " << name << ", generated by `m6t cluster " << source << " "
    << name
    << " --m6t`:\n# every slice's service address is listened on; the slices this "
       "gateway is ranked for are announced.\n[gateway]\nprefix = \""
    << c.prefix.to_string() << "\"\nlisten = [";
  for (std::size_t i = 0; i < c.slices.size(); ++i)
    o << (i ? ", " : "") << "\"" << c.slices[i].service.to_string() << ":" << c.port << "\"";
  o << "]\nannounce = [";
  bool first = true;
  for (const ClusterSlice& s : c.slices) {
    if (rank_of(s, gi) < 0) continue;
    o << (first ? "" : ", ") << "\"" << s.service.to_string() << "," << s.part.to_string() << "\"";
    first = false;
  }
  o << "]\nannounce-table = " << c.announce_table << "\ndrain-ms = " << c.drain_ms << "\n";
  if (c.burst) o << "burst = " << c.burst << "\n";
  return o.str();
}

}  // namespace m6t::app
