#include "os/udp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace m6t::os {
namespace {

using testing::contains;
using testing::wait_for;

core::Ipv4Addr ip(const char* text) {
  return *core::Ipv4Addr::parse(text);
}

std::unique_ptr<UdpSocket> open_or_die(UdpOptions options) {
  auto s = open_udp(options);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? std::move(*s) : nullptr;
}

std::unique_ptr<UdpSocket> bound(const char* addr, std::uint16_t port = 0) {
  UdpOptions o;
  o.bind = core::Endpoint4{ip(addr), port};
  return open_or_die(o);
}

std::vector<std::uint8_t> payload(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::uint8_t>(seed + i);
  return v;
}

std::vector<std::uint8_t> bytes_of(const PacketSlot& s) {
  return {s.data, s.data + s.len};
}

TEST(Udp, BindResolvesEphemeralPort) {
  auto s = bound("127.0.0.1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->local_endpoint().addr, ip("127.0.0.1"));
  EXPECT_NE(s->local_endpoint().port, 0);
  EXPECT_GE(s->fd(), 0);
}

TEST(Udp, BatchSendAndReceiveFillsEndpoints) {
  auto rx = bound("127.0.0.1");
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(rx && tx);
  std::vector<std::vector<std::uint8_t>> data;
  std::vector<SendItem> items;
  for (std::uint8_t i = 0; i < 5; ++i)
    data.push_back(payload(100u + i * 10u, i));
  for (const auto& d : data)
    items.push_back(SendItem{d, rx->local_endpoint(), {}});
  EXPECT_EQ(tx->send_batch(items), 5u);

  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(8, 2048);
  const std::size_t n = rx->recv_batch(batch.slots());
  ASSERT_EQ(n, 5u);
  for (std::size_t i = 0; i < n; ++i) {
    const PacketSlot& s = batch.slots()[i];
    EXPECT_EQ(bytes_of(s), data[i]);
    EXPECT_FALSE(s.truncated);
    EXPECT_EQ(s.remote, tx->local_endpoint());
    EXPECT_EQ(s.local, rx->local_endpoint());
  }
  EXPECT_EQ(rx->recv_batch(batch.slots()), 0u) << "queue should be drained";
}

TEST(Udp, ReceiveStopsAtSlotCountAndKeepsTheRest) {
  auto rx = bound("127.0.0.1");
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(rx && tx);
  std::vector<std::uint8_t> d = payload(10, 1);
  std::vector<SendItem> items(5, SendItem{d, rx->local_endpoint(), {}});
  ASSERT_EQ(tx->send_batch(items), 5u);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch small(3, 64);
  EXPECT_EQ(rx->recv_batch(small.slots()), 3u);
  EXPECT_EQ(rx->recv_batch(small.slots()), 2u);
}

TEST(Udp, OversizedDatagramIsMarkedTruncated) {
  auto rx = bound("127.0.0.1");
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(rx && tx);
  const auto big = payload(100, 7);
  const auto fits = payload(16, 9);
  const SendItem items[] = {{big, rx->local_endpoint(), {}}, {fits, rx->local_endpoint(), {}}};
  ASSERT_EQ(tx->send_batch(items), 2u);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(4, 16);
  ASSERT_EQ(rx->recv_batch(batch.slots()), 2u);
  EXPECT_TRUE(batch.slots()[0].truncated);
  EXPECT_EQ(batch.slots()[0].len, 16u);
  EXPECT_FALSE(batch.slots()[1].truncated);
  EXPECT_EQ(bytes_of(batch.slots()[1]), fits);
}

TEST(Udp, PktinfoSelectsSourceOnWildcardSocket) {
  auto rx = bound("0.0.0.0");
  auto tx = bound("0.0.0.0");
  ASSERT_TRUE(rx && tx);
  const std::uint16_t rx_port = rx->local_endpoint().port;
  const auto d = payload(20, 3);
  const SendItem items[] = {
      // Source chosen by the item: the reply path of a gateway (§2.3, NAT mapping).
      {d, {ip("127.0.0.1"), rx_port}, {ip("127.0.0.2"), 0}},
      // No source given: the kernel's choice (127.0.0.1 towards 127.0.0.1).
      {d, {ip("127.0.0.3"), rx_port}, {}},
  };
  ASSERT_EQ(tx->send_batch(items), 2u);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(4, 256);
  ASSERT_EQ(rx->recv_batch(batch.slots()), 2u);
  const PacketSlot& a = batch.slots()[0];
  EXPECT_EQ(a.remote, (core::Endpoint4{ip("127.0.0.2"), tx->local_endpoint().port}));
  EXPECT_EQ(a.local, (core::Endpoint4{ip("127.0.0.1"), rx_port}));
  const PacketSlot& b = batch.slots()[1];
  EXPECT_EQ(b.remote.addr, ip("127.0.0.1"));
  // The wildcard receiver learns which of its addresses was targeted.
  EXPECT_EQ(b.local, (core::Endpoint4{ip("127.0.0.3"), rx_port}));
}

TEST(Udp, PerItemErrorIsSkippedNotFatal) {
  auto rx = bound("127.0.0.1");
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(rx && tx);
  const auto ok1 = payload(10, 1);
  const auto too_big = payload(70000, 2);  // > 65507: EMSGSIZE for this item alone
  const auto ok2 = payload(12, 3);
  const SendItem items[] = {{ok1, rx->local_endpoint(), {}},
                            {too_big, rx->local_endpoint(), {}},
                            {ok2, rx->local_endpoint(), {}},
                            {too_big, rx->local_endpoint(), {}}};
  EXPECT_EQ(tx->send_batch(items), 2u);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(8, 256);
  ASSERT_EQ(rx->recv_batch(batch.slots()), 2u);
  EXPECT_EQ(bytes_of(batch.slots()[0]), ok1);
  EXPECT_EQ(bytes_of(batch.slots()[1]), ok2);
}

TEST(Udp, BatchLargerThanKernelChunk) {
  auto rx = bound("127.0.0.1");
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(rx && tx);
  const std::size_t count = kBatchSize * 2 + 5;
  std::vector<std::vector<std::uint8_t>> data;
  for (std::size_t i = 0; i < count; ++i)
    data.push_back(payload(8, static_cast<std::uint8_t>(i)));
  std::vector<SendItem> items;
  for (const auto& d : data)
    items.push_back(SendItem{d, rx->local_endpoint(), {}});
  EXPECT_EQ(tx->send_batch(items), count);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(count + 3, 64);
  ASSERT_EQ(rx->recv_batch(batch.slots()), count);
  EXPECT_EQ(bytes_of(batch.slots()[count - 1]), data[count - 1]);
}

TEST(Udp, ConnectedSocketIgnoresItemRemote) {
  auto rx = bound("127.0.0.1");
  ASSERT_TRUE(rx);
  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.connect = rx->local_endpoint();
  auto tx = open_or_die(o);
  ASSERT_TRUE(tx);
  const auto d = payload(30, 5);
  const SendItem items[] = {{d, {ip("127.0.0.9"), 9}, {}}};
  ASSERT_EQ(tx->send_batch(items), 1u);
  ASSERT_TRUE(wait_for(rx->fd()));
  PacketBatch batch(2, 256);
  ASSERT_EQ(rx->recv_batch(batch.slots()), 1u);
  EXPECT_EQ(bytes_of(batch.slots()[0]), d);
  EXPECT_EQ(batch.slots()[0].remote, tx->local_endpoint());
}

int sockopt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(Udp, DontFragmentOffByDefault) {
  auto s = bound("127.0.0.1");
  ASSERT_TRUE(s);
  // §2.6: the DF bit must not be set.
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DONT);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_RECVERR), 0);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_PKTINFO), 1);
}

TEST(Udp, PathMtuModeSetsProbeAndRecvErr) {
  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.pmtu_discovery = true;
  auto s = open_or_die(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_RECVERR), 1);
}

// Path-MTU mode: DF is chosen per path, hence per item; the socket's mode follows runs of items.
TEST(Udp, DfFollowsEachItemInPathMtuMode) {
  auto rx = bound("127.0.0.1");
  ASSERT_TRUE(rx);
  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.pmtu_discovery = true;
  auto s = open_or_die(o);
  ASSERT_TRUE(s);
  const auto d = payload(10, 1);
  const core::Endpoint4 to = rx->local_endpoint();
  const SendItem mixed[] = {{d, to, {}, true}, {d, to, {}, false}, {d, to, {}, true}};
  EXPECT_EQ(s->send_batch(mixed), 3u);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
  const SendItem fragmentable[] = {{d, to, {}, false}};
  EXPECT_EQ(s->send_batch(fragmentable), 1u);
  EXPECT_EQ(sockopt(s->fd(), SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DONT);
  // Outside path-MTU mode DF is never set, whatever the item says (§2.6).
  auto plain = bound("127.0.0.1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->send_batch(mixed), 3u);
  EXPECT_EQ(sockopt(plain->fd(), SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DONT);
  PacketBatch batch(8, 256);
  ASSERT_TRUE(wait_for(rx->fd()));
  std::size_t got = 0;
  for (int i = 0; i < 20 && got < 7; ++i) {
    got += rx->recv_batch(batch.slots());
    if (got < 7) wait_for(rx->fd());
  }
  EXPECT_EQ(got, 7u);
}

TEST(IcmpError, FragNeededIsIcmp3Code4OrALocalEmsgsize) {
  EXPECT_TRUE((IcmpError{{}, 3, 4, 1400, EMSGSIZE}.frag_needed()));
  EXPECT_TRUE((IcmpError{{}, 0, 0, 1400, EMSGSIZE}.frag_needed()));
  EXPECT_FALSE((IcmpError{{}, 3, 3, 0, ECONNREFUSED}.frag_needed()));
  EXPECT_FALSE((IcmpError{{}, 11, 0, 0, EHOSTUNREACH}.frag_needed()));
}

TEST(Udp, BufferSizesAreApplied) {
  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.rcvbuf = 3 << 20;
  o.sndbuf = 3 << 20;
  auto s = open_or_die(o);
  ASSERT_TRUE(s);
  // The kernel doubles the value for bookkeeping; as root FORCE bypasses rmem_max.
  if (::geteuid() == 0) {
    EXPECT_EQ(sockopt(s->fd(), SOL_SOCKET, SO_RCVBUF), 2 * (3 << 20));
    EXPECT_EQ(sockopt(s->fd(), SOL_SOCKET, SO_SNDBUF), 2 * (3 << 20));
  } else {
    EXPECT_GT(sockopt(s->fd(), SOL_SOCKET, SO_RCVBUF), 0);
  }
}

TEST(Udp, IcmpErrorsAreQueuedInPathMtuMode) {
  // A port nobody listens on: the kernel answers with ICMP port unreachable (3/3).
  auto closed = bound("127.0.0.1");
  ASSERT_TRUE(closed);
  const core::Endpoint4 dead = closed->local_endpoint();
  closed.reset();

  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.pmtu_discovery = true;
  auto s = open_or_die(o);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->read_errors().empty());
  const auto d = payload(10, 1);
  const SendItem items[] = {{d, dead, {}}};
  ASSERT_EQ(s->send_batch(items), 1u);
  ASSERT_TRUE(wait_for(s->fd(), POLLERR));
  const std::vector<IcmpError> errors = s->read_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].remote, dead);
  EXPECT_EQ(errors[0].type, 3);
  EXPECT_EQ(errors[0].code, 3);
  EXPECT_EQ(errors[0].err, ECONNREFUSED);
  EXPECT_FALSE(errors[0].frag_needed());
  EXPECT_EQ(errors[0].quote, d) << "the offending datagram's payload, as quoted";
  EXPECT_TRUE(s->read_errors().empty());
  // The pending socket error must not eat datagrams that are queued.
  auto tx = bound("127.0.0.1");
  ASSERT_TRUE(tx);
  const SendItem back[] = {{d, s->local_endpoint(), {}}};
  ASSERT_EQ(tx->send_batch(back), 1u);
  ASSERT_TRUE(wait_for(s->fd()));
  PacketBatch batch(2, 64);
  EXPECT_EQ(s->recv_batch(batch.slots()), 1u);
}

TEST(Udp, BindToDevice) {
  UdpOptions o;
  o.bind = core::Endpoint4{ip("127.0.0.1"), 0};
  o.device = "lo";
  auto s = open_or_die(o);
  ASSERT_TRUE(s);
  char name[32] = {};
  socklen_t len = sizeof name;
  ASSERT_EQ(::getsockopt(s->fd(), SOL_SOCKET, SO_BINDTODEVICE, name, &len), 0);
  EXPECT_STREQ(name, "lo");

  o.device = "nosuchdev0";
  auto bad = open_udp(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "SO_BINDTODEVICE nosuchdev0: No such device");
}

TEST(Udp, BindErrorNamesTheEndpoint) {
  auto first = bound("127.0.0.1");
  ASSERT_TRUE(first);
  UdpOptions o;
  o.bind = first->local_endpoint();
  auto second = open_udp(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), "bind " + o.bind.to_string() + ": Address already in use");
}

TEST(Udp, EmptyReceiveReturnsZero) {
  auto s = bound("127.0.0.1");
  ASSERT_TRUE(s);
  PacketBatch batch(4, 64);
  EXPECT_EQ(s->recv_batch(batch.slots()), 0u);
  EXPECT_EQ(s->send_batch({}), 0u);
}

}  // namespace
}  // namespace m6t::os
