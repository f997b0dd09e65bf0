// The cluster description (cluster.h): what it accepts, what it refuses and why, and what it
// generates for each node.
#include "app/cluster.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace m6t::app {
namespace {

std::string example() {
  std::ifstream in(std::string(M6T_SOURCE_DIR) + "/examples/cluster.toml");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Cluster parsed(const std::string& text) {
  auto r = parse_cluster(text, "c.toml");
  if (auto* e = std::get_if<std::string>(&r)) ADD_FAILURE() << *e;
  return std::holds_alternative<Cluster>(r) ? std::get<Cluster>(r) : Cluster{};
}

std::string error_of(const std::string& text) {
  auto r = parse_cluster(text, "c.toml");
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1))
    ++n;
  return n;
}

TEST(Cluster, TheExampleParsesIntoSlicesOfThePrefix) {
  const Cluster c = parsed(example());
  EXPECT_EQ(c.prefix.to_string(), "fd00:db8:1::/48");
  EXPECT_EQ(c.slice_bits, 2u);
  ASSERT_EQ(c.slices.size(), 3u);
  EXPECT_EQ(c.slices[1].part.to_string(), "fd00:db8:1:4000::/50");
  EXPECT_EQ(c.slices[1].service.to_string(), "203.0.113.11");
  EXPECT_EQ(c.slices[1].ranked, (std::vector<std::size_t>{1, 2, 0}));
  EXPECT_EQ(c.gateways.size(), 3u);
  EXPECT_EQ(c.routers.size(), 1u);
}

TEST(Cluster, AGatewayExportsEachOfItsSlicesPrependedByRank) {
  const std::string b = bird_config(parsed(example()), "gw2", "cluster.toml");
  EXPECT_NE(b.find("router id 198.18.0.2;"), std::string::npos);
  EXPECT_NE(b.find("kernel table 100;"), std::string::npos);
  EXPECT_NE(b.find("learn;"), std::string::npos);
  // Slice 1 first-ranked: as it is; slice 0 second: one prepend; slice 2 third: two.
  EXPECT_NE(b.find("if net = 203.0.113.11/32 then { accept; }"), std::string::npos);
  EXPECT_NE(b.find("if net = 203.0.113.10/32 then { bgp_path.prepend(64512); accept; }"),
            std::string::npos);
  EXPECT_NE(b.find("if net = fd00:db8:1:8000::/50 then { bgp_path.prepend(64512); "
                   "bgp_path.prepend(64512); accept; }"),
            std::string::npos);
  // One IPv4 and one IPv6 session to the router, both with BFD.
  EXPECT_EQ(count(b, "protocol bgp "), 2u);
  EXPECT_EQ(count(b, "bfd on;"), 2u);
  EXPECT_NE(b.find("neighbor 2001:db8:ff::254 as 64500;"), std::string::npos);
}

TEST(Cluster, TheRouterTakesOnlyTheClustersSlicesFromEveryGateway) {
  const std::string b = bird_config(parsed(example()), "r1", "cluster.toml");
  EXPECT_EQ(count(b, "protocol bgp "), 6u);
  EXPECT_NE(b.find("if net ~ [ 203.0.113.10/32, 203.0.113.11/32, 203.0.113.12/32 ] then accept;"),
            std::string::npos);
  EXPECT_NE(b.find("export all;"), std::string::npos);
  EXPECT_EQ(bird_config(parsed(example()), "nobody", "cluster.toml"), "");
}

TEST(Cluster, AGatewayListensOnEveryServiceAndAnnouncesItsRankedSlices) {
  std::string text = example();
  // gw3 drops out of slice 0's ranking: it still listens on its address, but never announces it.
  text.replace(text.find("gateways = [\"gw1\", \"gw2\", \"gw3\"]"), 33,
               "gateways = [\"gw1\", \"gw2\"]       ");
  const std::string m = gateway_settings(parsed(text), "gw3", "cluster.toml");
  EXPECT_NE(
      m.find("listen = [\"203.0.113.10:4500\", \"203.0.113.11:4500\", \"203.0.113.12:4500\"]"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("announce = [\"203.0.113.11,fd00:db8:1:4000::/50\", "
                   "\"203.0.113.12,fd00:db8:1:8000::/50\"]"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("announce-table = 100"), std::string::npos);
  EXPECT_NE(m.find("burst = 256"), std::string::npos);
  EXPECT_EQ(gateway_settings(parsed(text), "r1", "cluster.toml"), "");
}

TEST(Cluster, MistakesAreOneLineWithFileAndLine) {
  const std::string base = example();
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = base;
    t.replace(t.find(from), from.size(), to);
    return error_of(t);
  };
  EXPECT_EQ(with("slice-bits = 2", "slice-bits = 0"),
            "c.toml:7: [cluster]: 'slice-bits' must be a whole number from 1 to 15");
  const auto line_of = [&](const std::string& what) {
    return std::to_string(1 + count(base.substr(0, base.find(what)), "\n"));
  };
  EXPECT_EQ(with("slice = 2\n", "slice = 4\n"),
            "c.toml:" + line_of("slice = 2\n") +
                ": [[slice]]: 'slice' must be a whole number from 0 to 3");
  EXPECT_NE(with("gateways = [\"gw3\", \"gw1\", \"gw2\"]", "gateways = [\"gw3\", \"gw9\"]")
                .find("names 'gw9', which is no [[gateway]]"),
            std::string::npos);
  EXPECT_NE(with("gateways = [\"gw3\", \"gw1\", \"gw2\"]", "gateways = [\"gw3\", \"gw3\"]")
                .find("names 'gw3' twice"),
            std::string::npos);
  EXPECT_NE(with("service = \"203.0.113.12\"", "service = \"203.0.113.11\"")
                .find("is another slice's already"),
            std::string::npos);
  EXPECT_NE(with("as = 64500", "as = 64512").find("different ASes"), std::string::npos);
  EXPECT_NE(with("name = \"gw3\"", "name = \"gw2\"").find("used twice"), std::string::npos);
  EXPECT_NE(with("name = \"gw3\"", "name = \"gw 3\"").find("letters, digits"), std::string::npos);
  EXPECT_NE(with("prefix = \"fd00:db8:1::/48\"", "prefix = \"fd00:db8::/32\"").find("/48"),
            std::string::npos);
  EXPECT_NE(with("drain-ms = 1000", "drian-ms = 1000").find("unknown key 'drian-ms'"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nprefix = ").find("c.toml:2:"), std::string::npos);
  EXPECT_EQ(error_of(""), "c.toml: no [cluster] table");
}

}  // namespace
}  // namespace m6t::app
