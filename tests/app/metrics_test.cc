#include "app/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "app/gateway_names.h"

namespace m6t::app {
namespace {

using nlohmann::json;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
    ++n;
  return n;
}

TEST(Metrics, EachFamilyOnceWithSamplesOfEveryDaemon) {
  json gw = {{"role", "gateway"},
             {"tun", "m6tgw0"},
             {"version", "0.1.0"},
             {"uptime_s", 5},
             {"states_active", 3},
             {"states_temporary", 1},
             {"counters", {{"udp_in", {{"packets", 10}, {"bytes", 1000}}}}},
             {"drops", {{"rate_limited", 7}}}};
  json cl = {{"role", "client"},
             {"tun", "m6t0"},
             {"version", "0.1.0"},
             {"address", "fd00::1"},
             {"counters", {{"to_gateway", {{"packets", 2}, {"bytes", 200}}}, {"attachments", 4}}}};
  const std::string text = prometheus_text(json::array({gw, cl}));
  EXPECT_EQ(count(text, "# TYPE m6t_packets_total counter\n"), 1u) << text;
  EXPECT_EQ(count(text, "# HELP m6t_packets_total "), 1u);
  EXPECT_NE(text.find("m6t_packets_total{role=\"gateway\",tun=\"m6tgw0\",flow=\"udp_in\"} 10\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("m6t_packets_total{role=\"client\",tun=\"m6t0\",flow=\"to_gateway\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("m6t_states{role=\"gateway\",tun=\"m6tgw0\",kind=\"active\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("m6t_drops_total{role=\"gateway\",tun=\"m6tgw0\",reason=\"rate_limited\"} 7"),
            std::string::npos);
  EXPECT_NE(text.find("m6t_attachments_total{role=\"client\",tun=\"m6t0\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("m6t_tunnel_up{role=\"client\",tun=\"m6t0\"} 1\n"), std::string::npos);
  // Every family's samples follow its HELP and TYPE lines, families never interleave.
  EXPECT_LT(text.find("# TYPE m6t_states gauge"), text.find("m6t_states{"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  json d = {{"role", "gateway"}, {"tun", "a\"b\\c\nd"}, {"version", "1"}};
  const std::string text = prometheus_text(d);
  EXPECT_NE(text.find("tun=\"a\\\"b\\\\c\\nd\""), std::string::npos) << text;
}

TEST(Metrics, NothingToShowIsAnEmptyText) {
  EXPECT_EQ(prometheus_text(json::array()), "");
}

TEST(GatewayNames, NamesStandForTheirAddressesInTheGivenOrder) {
  GatewaySpec lit{"203.0.113.2", 53, core::Ipv4Addr::parse("203.0.113.2")};
  GatewayNames names(
      {{"gw.example.org", 4500, std::nullopt}, lit, {"gw.example.org", 3544, std::nullopt}});
  EXPECT_TRUE(names.any());
  EXPECT_EQ(names.names(), std::vector<std::string>{"gw.example.org"});
  // Before the first answer: only the literal.
  ASSERT_EQ(names.addresses().size(), 1u);
  EXPECT_EQ(names.addresses()[0].to_string(), "203.0.113.2:53");
  os::ResolverAnswer a;
  a.addresses["gw.example.org"] = {*core::Ipv4Addr::parse("198.51.100.1"),
                                   *core::Ipv4Addr::parse("198.51.100.2")};
  names.update(a);
  std::vector<std::string> got;
  for (const auto& e : names.addresses())
    got.push_back(e.to_string());
  EXPECT_EQ(got,
            (std::vector<std::string>{"198.51.100.1:4500", "198.51.100.2:4500", "203.0.113.2:53",
                                      "198.51.100.1:3544", "198.51.100.2:3544"}));
  // A failed lookup keeps what the name had.
  os::ResolverAnswer failed;
  failed.errors["gw.example.org"] = "Name or service not known";
  names.update(failed);
  EXPECT_EQ(names.addresses().size(), 5u);
}

}  // namespace
}  // namespace m6t::app
