// The announced routes of a gateway's slices, over the rtnetlink fake.
#include "app/announcer.h"

#include <gtest/gtest.h>

#include "os/fakes/fake_netlink.h"
#include "support/packets.h"

namespace m6t::app {
namespace {

using testing::ep;

GatewaySettings two_slices_one_address() {
  GatewaySettings s;
  s.listen = {ep("203.0.113.10:4500"), ep("203.0.113.11:4500")};
  s.announce = {
      {*core::Ipv4Addr::parse("203.0.113.10"), *core::Ipv6Prefix::parse("fd00:db8:1::/52")},
      {*core::Ipv4Addr::parse("203.0.113.10"), *core::Ipv6Prefix::parse("fd00:db8:1:1000::/52")},
      {*core::Ipv4Addr::parse("203.0.113.11"), *core::Ipv6Prefix::parse("fd00:db8:1:2000::/52")}};
  s.announce_table = 100;
  return s;
}

TEST(Announcer, EachServiceAddressOnceAndEachPartIntoTheTableThenWithdrawnOnce) {
  os::FakeNetConfig net;
  Logger log("test", LogLevel::kError);
  Announcer a(net, 7, two_slices_one_address(), log);
  ASSERT_TRUE(a.announce());
  EXPECT_EQ(net.calls, (std::vector<std::string>{
                           "add_table_route 7 203.0.113.10/32 table 100",
                           "add_table_route 7 fd00:db8:1::/52 table 100",
                           "add_table_route 7 fd00:db8:1:1000::/52 table 100",
                           "add_table_route 7 203.0.113.11/32 table 100",
                           "add_table_route 7 fd00:db8:1:2000::/52 table 100",
                       }));
  net.calls.clear();
  a.withdraw();
  a.withdraw();  // the drain's withdrawal, then the stop's: once
  EXPECT_EQ(net.calls.size(), 5u);
  EXPECT_EQ(net.calls[0], "del_table_route 7 203.0.113.10/32 table 100");
}

TEST(Announcer, NothingToAnnounceTouchesNothing) {
  os::FakeNetConfig net;
  Logger log("test", LogLevel::kError);
  Announcer a(net, 7, GatewaySettings{}, log);
  ASSERT_TRUE(a.announce());
  a.withdraw();
  EXPECT_TRUE(net.calls.empty());
}

TEST(Announcer, AFailedAddFailsTheStart) {
  os::FakeNetConfig net;
  net.fail_next = true;
  Logger log("test", LogLevel::kError);
  Announcer a(net, 7, two_slices_one_address(), log);
  EXPECT_FALSE(a.announce());
}

}  // namespace
}  // namespace m6t::app
