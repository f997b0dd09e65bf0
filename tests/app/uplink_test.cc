#include "app/uplink.h"

#include <gtest/gtest.h>

namespace m6t::app {
namespace {

core::Ipv4Addr v4(const char* s) {
  return *core::Ipv4Addr::parse(s);
}

os::Ipv4Snapshot two_uplinks() {
  os::Ipv4Snapshot s;
  s.addresses = {{1, v4("127.0.0.1"), 8}, {2, v4("192.0.2.2"), 24}, {3, v4("198.51.100.2"), 24}};
  s.default_routes = {{2, v4("192.0.2.1"), 100}, {3, v4("198.51.100.1"), 50}};
  return s;
}

TEST(SelectUplink, DefaultRouteOfLowestMetric) {
  core::Uplink u = select_uplink(two_uplinks(), std::nullopt);
  EXPECT_TRUE(u.connected);
  EXPECT_EQ(u.address, v4("198.51.100.2"));
  EXPECT_EQ(u.router, v4("198.51.100.1"));
  EXPECT_EQ(u.ifindex, 3u);
}

TEST(SelectUplink, NamedUplinkOnly) {
  core::Uplink u = select_uplink(two_uplinks(), 2);
  EXPECT_TRUE(u.connected);
  EXPECT_EQ(u.address, v4("192.0.2.2"));
  EXPECT_EQ(u.ifindex, 2u);
}

TEST(SelectUplink, NeedsBothAnAddressAndADefaultRoute) {
  os::Ipv4Snapshot s = two_uplinks();
  s.default_routes.clear();
  EXPECT_FALSE(select_uplink(s, std::nullopt).connected) << "address without route";
  s = two_uplinks();
  s.addresses = {{2, v4("192.0.2.2"), 24}};
  EXPECT_FALSE(select_uplink(s, 3).connected) << "route without address";
  s.addresses = {{3, v4("169.254.1.1"), 16}};
  EXPECT_FALSE(select_uplink(s, 3).connected) << "link-local cannot reach a gateway";
}

}  // namespace
}  // namespace m6t::app
