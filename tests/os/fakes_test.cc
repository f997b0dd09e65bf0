#include <gtest/gtest.h>

#include "os/fakes/fake_netlink.h"
#include "os/fakes/fake_tun.h"
#include "os/fakes/fake_udp.h"

namespace m6t::os {
namespace {

core::Endpoint4 ep(const char* text) {
  return *core::Endpoint4::parse(text);
}

TEST(FakeTun, InjectedPacketsAreReadInOrder) {
  FakeTun tun("m6t9", 7);
  EXPECT_EQ(tun.name(), "m6t9");
  EXPECT_EQ(tun.ifindex(), 7);
  EXPECT_EQ(tun.fd(), -1);
  tun.inject({1, 2, 3});
  tun.inject({4, 5});
  tun.inject(std::vector<std::uint8_t>(40, 9));
  PacketBatch batch(2, 32);
  ASSERT_EQ(tun.read_batch(batch.slots()), 2u);
  EXPECT_EQ(
      std::vector<std::uint8_t>(batch.slots()[0].bytes().begin(), batch.slots()[0].bytes().end()),
      (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(batch.slots()[1].len, 2u);
  ASSERT_EQ(tun.read_batch(batch.slots()), 1u);
  EXPECT_TRUE(batch.slots()[0].truncated);
  EXPECT_EQ(batch.slots()[0].len, 32u);
  EXPECT_EQ(tun.read_batch(batch.slots()), 0u);
}

TEST(FakeTun, WritesAreRecorded) {
  FakeTun tun;
  const std::uint8_t p[] = {0x60, 0, 0, 0};
  EXPECT_TRUE(tun.write(p));
  ASSERT_EQ(tun.written.size(), 1u);
  EXPECT_EQ(tun.written[0], (std::vector<std::uint8_t>{0x60, 0, 0, 0}));
}

TEST(FakeUdp, InjectSendAndErrors) {
  FakeUdp udp(ep("192.0.2.1:4500"));
  EXPECT_EQ(udp.local_endpoint(), ep("192.0.2.1:4500"));
  udp.inject({1, 2}, ep("198.51.100.7:1234"));
  PacketBatch batch(4, 16);
  ASSERT_EQ(udp.recv_batch(batch.slots()), 1u);
  EXPECT_EQ(batch.slots()[0].remote, ep("198.51.100.7:1234"));
  EXPECT_EQ(batch.slots()[0].local, ep("192.0.2.1:4500"));
  EXPECT_EQ(batch.slots()[0].len, 2u);
  EXPECT_EQ(udp.recv_batch(batch.slots()), 0u);

  const std::uint8_t d[] = {9, 8, 7};
  const SendItem items[] = {{d, ep("198.51.100.7:1234"), ep("192.0.2.1:4500")}};
  EXPECT_EQ(udp.send_batch(items), 1u);
  ASSERT_EQ(udp.sent.size(), 1u);
  EXPECT_EQ(udp.sent[0].data, (std::vector<std::uint8_t>{9, 8, 7}));
  EXPECT_EQ(udp.sent[0].remote, ep("198.51.100.7:1234"));
  EXPECT_EQ(udp.sent[0].local, ep("192.0.2.1:4500"));

  udp.inject_error(IcmpError{ep("198.51.100.7:1234"), 3, 4, 1400, EMSGSIZE});
  const auto errors = udp.read_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].info, 1400u);
  EXPECT_TRUE(udp.read_errors().empty());
}

TEST(FakeNetConfig, RecordsCallsInDocumentedFormat) {
  FakeNetConfig nc;
  auto index = nc.ifindex("m6t0");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(*index, 42);
  EXPECT_TRUE(nc.set_mtu(42, 1472).ok());
  EXPECT_TRUE(nc.set_up(42).ok());
  EXPECT_TRUE(nc.add_address(42, *core::Ipv6Addr::parse("fd00::1"), 80).ok());
  EXPECT_TRUE(nc.add_route(42, *core::Ipv6Prefix::parse("::/0"), 1024).ok());
  EXPECT_TRUE(nc.del_route(42, *core::Ipv6Prefix::parse("fd00:1::/48"), 5).ok());
  EXPECT_TRUE(nc.del_address(42, *core::Ipv6Addr::parse("fd00::1"), 80).ok());
  EXPECT_EQ(nc.calls, (std::vector<std::string>{
                          "ifindex m6t0",
                          "set_mtu 42 1472",
                          "set_up 42",
                          "add_address 42 fd00::1/80",
                          "add_route 42 ::/0 metric 1024",
                          "del_route 42 fd00:1::/48 metric 5",
                          "del_address 42 fd00::1/80",
                      }));
}

TEST(FakeNetConfig, FailNextFailsOnceAndIsRecorded) {
  FakeNetConfig nc;
  nc.fail_next = true;
  auto r = nc.set_up(3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "set_up 3: injected failure");
  EXPECT_FALSE(nc.fail_next);
  EXPECT_TRUE(nc.set_up(3).ok());
  EXPECT_EQ(nc.calls.size(), 2u);
  nc.fail_next = true;
  nc.ifindex_result = 9;
  EXPECT_FALSE(nc.ifindex("x").ok());
  EXPECT_EQ(*nc.ifindex("x"), 9);
}

TEST(FakeIpv4Monitor, DrainReportsEachSetOnce) {
  FakeIpv4Monitor mon;
  EXPECT_EQ(mon.fd(), -1);
  EXPECT_FALSE(mon.drain());
  Ipv4Snapshot s;
  s.addresses.push_back({2, *core::Ipv4Addr::parse("192.0.2.10"), 24});
  s.default_routes.push_back({2, *core::Ipv4Addr::parse("192.0.2.1"), 100});
  mon.set(s);
  EXPECT_TRUE(mon.drain());
  EXPECT_FALSE(mon.drain());
  auto d = mon.dump();
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->addresses.size(), 1u);
  EXPECT_EQ(d->addresses[0].prefix_len, 24u);
  ASSERT_EQ(d->default_routes.size(), 1u);
  EXPECT_EQ(d->default_routes[0].metric, 100u);
}

}  // namespace
}  // namespace m6t::os
