// TUN and rtnetlink against the real kernel. main() first moves the whole test process into
// a private network namespace (CTest runs every test in its own process, so each test gets a
// fresh one): nothing here can touch the host's interfaces, addresses or routes.
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "os/netlink.h"
#include "os/tun.h"
#include "os/unique_fd.h"
#include "test_util.h"

namespace m6t::os {
namespace {

using testing::wait_for;

std::string g_netns_error;  // empty when main() entered a private namespace

// Each test starts in a namespace of its own, also when the binary runs all tests in one
// process (outside CTest): a fresh one has only `lo`, down, without addresses.
class Netns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_netns_error.empty()) M6T_PRECONDITION_MISSING("needs CAP_SYS_ADMIN: " + g_netns_error);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
  }
};
using TunNetns = Netns;
using NetConfigNetns = Netns;
using Ipv4MonitorNetns = Netns;

core::Ipv6Addr v6(const char* text) {
  return *core::Ipv6Addr::parse(text);
}
core::Ipv6Prefix prefix(const char* text) {
  return *core::Ipv6Prefix::parse(text);
}
core::Ipv4Addr v4(const char* text) {
  return *core::Ipv4Addr::parse(text);
}

std::string hex(const core::Ipv6Addr& a) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : a.b) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::vector<std::vector<std::string>> proc_table(const char* path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;)
      row.push_back(f);
    rows.push_back(row);
  }
  return rows;
}

// The kernel's view of an IPv6 address: its flags from /proc/net/if_inet6, or -1 if absent.
int address_flags(const std::string& dev, const core::Ipv6Addr& a, unsigned plen) {
  for (const auto& row : proc_table("/proc/net/if_inet6")) {
    if (row.size() == 6 && row[0] == hex(a) && std::stoul(row[2], nullptr, 16) == plen &&
        row[5] == dev) {
      return static_cast<int>(std::stoul(row[4], nullptr, 16));
    }
  }
  return -1;
}

bool has_route(const std::string& dev, const core::Ipv6Prefix& p, std::uint32_t metric) {
  for (const auto& row : proc_table("/proc/net/ipv6_route")) {
    if (row.size() == 10 && row[0] == hex(p.addr) && std::stoul(row[1], nullptr, 16) == p.len &&
        std::stoul(row[5], nullptr, 16) == metric && row[9] == dev) {
      return true;
    }
  }
  return false;
}

int ioctl_ifreq(unsigned long request, const std::string& dev, ifreq& ifr) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifr = ifreq{};
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  return ::ioctl(s.get(), request, &ifr);
}

std::unique_ptr<TunDevice> make_tun(const std::string& name) {
  auto tun = open_tun(name);
  EXPECT_TRUE(tun.ok()) << (tun.ok() ? "" : tun.error());
  return tun.ok() ? std::move(*tun) : nullptr;
}

std::unique_ptr<NetConfig> make_netconfig() {
  auto nc = open_netconfig();
  EXPECT_TRUE(nc.ok()) << (nc.ok() ? "" : nc.error());
  return nc.ok() ? std::move(*nc) : nullptr;
}

void expect_ok(const OsStatus& s) {
  EXPECT_TRUE(s.ok()) << s.error();
}

// Only the test drives `ip`; the code under test never shells out.
void ip(const std::string& args) {
  const std::string cmd = "ip " + args + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST_F(TunNetns, CreateNamedAndDisappearOnClose) {
  auto tun = make_tun("m6ttest0");
  ASSERT_TRUE(tun);
  EXPECT_EQ(tun->name(), "m6ttest0");
  EXPECT_GT(tun->ifindex(), 0);
  EXPECT_EQ(tun->ifindex(), static_cast<int>(::if_nametoindex("m6ttest0")));
  EXPECT_GE(tun->fd(), 0);
  PacketBatch batch(4, 2048);
  EXPECT_EQ(tun->read_batch(batch.slots()), 0u) << "non-blocking read of an idle device";
  tun.reset();
  EXPECT_EQ(::if_nametoindex("m6ttest0"), 0u) << "the device must not be persistent";
}

TEST_F(TunNetns, KernelPicksNameWhenEmpty) {
  auto tun = make_tun("");
  ASSERT_TRUE(tun);
  EXPECT_EQ(tun->name().rfind("tun", 0), 0u) << tun->name();
  EXPECT_EQ(tun->ifindex(), static_cast<int>(::if_nametoindex(tun->name().c_str())));
}

TEST_F(TunNetns, OverlongNameIsRefused) {
  auto tun = open_tun("m6t-name-too-long");
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error(), "tun m6t-name-too-long: name longer than 15 characters");
}

TEST_F(NetConfigNetns, ConfiguresLinkAddressAndRoutes) {
  auto tun = make_tun("m6ttest0");
  auto nc = make_netconfig();
  ASSERT_TRUE(tun && nc);
  const int idx = tun->ifindex();

  auto found = nc->ifindex("m6ttest0");
  ASSERT_TRUE(found.ok()) << found.error();
  EXPECT_EQ(*found, idx);
  auto missing = nc->ifindex("nosuch0");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "ifindex nosuch0: No such device");

  // §2.6: 1472 by default on both sides.
  expect_ok(nc->set_mtu(idx, 1472));
  ifreq ifr{};
  ASSERT_EQ(ioctl_ifreq(SIOCGIFMTU, "m6ttest0", ifr), 0);
  EXPECT_EQ(ifr.ifr_mtu, 1472);
  ASSERT_EQ(ioctl_ifreq(SIOCGIFFLAGS, "m6ttest0", ifr), 0);
  EXPECT_FALSE(ifr.ifr_flags & IFF_UP);
  expect_ok(nc->set_up(idx));
  ASSERT_EQ(ioctl_ifreq(SIOCGIFFLAGS, "m6ttest0", ifr), 0);
  EXPECT_TRUE(ifr.ifr_flags & IFF_UP);

  const auto addr = v6("fd00:0:0:1:2::1");
  expect_ok(nc->add_address(idx, addr, 80));
  const int flags = address_flags("m6ttest0", addr, 80);
  ASSERT_NE(flags, -1) << "address not in /proc/net/if_inet6";
  EXPECT_TRUE(flags & IFA_F_NODAD);
  EXPECT_FALSE(flags & IFA_F_TENTATIVE);
  expect_ok(nc->add_address(idx, addr, 80));  // idempotent

  const auto p48 = prefix("fd00:1::/48");
  expect_ok(nc->add_route(idx, p48, 100));
  EXPECT_TRUE(has_route("m6ttest0", p48, 100));
  expect_ok(nc->add_route(idx, p48, 100));  // idempotent
  expect_ok(nc->add_route(idx, prefix("::/0"), 1024));
  EXPECT_TRUE(has_route("m6ttest0", prefix("::/0"), 1024));

  expect_ok(nc->del_route(idx, p48, 100));
  EXPECT_FALSE(has_route("m6ttest0", p48, 100));
  auto again = nc->del_route(idx, p48, 100);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(
      again.error().rfind("del route fd00:1::/48 dev m6ttest0 metric 100: No such process", 0), 0u)
      << again.error();
  expect_ok(nc->del_route(idx, prefix("::/0"), 1024));
  EXPECT_FALSE(has_route("m6ttest0", prefix("::/0"), 1024));

  expect_ok(nc->del_address(idx, addr, 80));
  EXPECT_EQ(address_flags("m6ttest0", addr, 80), -1);
  auto gone = nc->del_address(idx, addr, 80);
  ASSERT_FALSE(gone.ok());
  // With the kernel's extended ack when it gives one.
  EXPECT_EQ(gone.error().rfind(
                "del address fd00::1:2:0:0:1/80 dev m6ttest0: Cannot assign requested address", 0),
            0u)
      << gone.error();
}

TEST_F(NetConfigNetns, QuietTunHasNoLinkLocalAndNoMulticast) {
  auto tun = make_tun("m6ttest0");
  auto nc = make_netconfig();
  ASSERT_TRUE(tun && nc);
  const int idx = tun->ifindex();
  expect_ok(nc->make_point_to_point_quiet(idx));
  expect_ok(nc->set_up(idx));
  ifreq ifr{};
  ASSERT_EQ(ioctl_ifreq(SIOCGIFFLAGS, "m6ttest0", ifr), 0);
  EXPECT_FALSE(ifr.ifr_flags & IFF_MULTICAST);
  EXPECT_TRUE(ifr.ifr_flags & IFF_UP);
  for (const auto& row : proc_table("/proc/net/if_inet6"))
    if (row.size() == 6 && row[5] == "m6ttest0") ADD_FAILURE() << "address " << row[0];

  // Control: without it the kernel gives the device a link-local address.
  auto loud = make_tun("m6ttest1");
  ASSERT_TRUE(loud);
  expect_ok(nc->set_up(loud->ifindex()));
  bool link_local = false;
  for (const auto& row : proc_table("/proc/net/if_inet6"))
    if (row.size() == 6 && row[5] == "m6ttest1" && row[0].rfind("fe80", 0) == 0) link_local = true;
  EXPECT_TRUE(link_local);
}

TEST_F(NetConfigNetns, SameRouteOnAnotherDeviceIsNotReplaced) {
  auto a = make_tun("m6ttest0");
  auto b = make_tun("m6ttest1");
  auto nc = make_netconfig();
  ASSERT_TRUE(a && b && nc);
  expect_ok(nc->set_up(a->ifindex()));
  expect_ok(nc->set_up(b->ifindex()));
  expect_ok(nc->add_route(a->ifindex(), prefix("::/0"), 1024));
  expect_ok(nc->add_route(b->ifindex(), prefix("::/0"), 1024));
  EXPECT_TRUE(has_route("m6ttest0", prefix("::/0"), 1024));
  EXPECT_TRUE(has_route("m6ttest1", prefix("::/0"), 1024));
}

TEST_F(NetConfigNetns, KernelErrorsAreReported) {
  auto nc = make_netconfig();
  ASSERT_TRUE(nc);
  auto r = nc->set_mtu(9999, 1472);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("set mtu 1472 ifindex 9999: No such device", 0), 0u) << r.error();
  auto tun = make_tun("m6ttest0");
  ASSERT_TRUE(tun);
  // Below the IPv6 minimum is refused by the kernel (EINVAL), with its reason when it gives one.
  auto tiny = nc->set_mtu(tun->ifindex(), 10);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().rfind("set mtu 10 dev m6ttest0: Invalid argument", 0), 0u) << tiny.error();
}

// A configured tunnel as the daemons set it up: address fd00::1/64, fd00:1::/48 routed in.
struct ConfiguredTun {
  std::unique_ptr<TunDevice> tun;
  std::unique_ptr<NetConfig> nc;
  bool ok = false;
  ConfiguredTun() {
    tun = make_tun("m6ttest0");
    nc = make_netconfig();
    if (!tun || !nc) return;
    const int idx = tun->ifindex();
    ok = nc->set_mtu(idx, 1472).ok() && nc->set_up(idx).ok() &&
         nc->add_address(idx, v6("fd00::1"), 64).ok() &&
         nc->add_route(idx, prefix("fd00:1::/48"), 100).ok();
  }
};

// Reads packets until one matches (the kernel also sends its own traffic on a new link:
// router solicitations, MLD reports).
template <class Match>
std::vector<std::uint8_t> read_until(TunDevice& tun, Match match,
                                     std::chrono::milliseconds budget = std::chrono::seconds(3)) {
  PacketBatch batch(8, kBufferSize);
  const auto end = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < end) {
    if (!wait_for(tun.fd(), POLLIN, 50)) continue;
    const std::size_t n = tun.read_batch(batch.slots());
    for (std::size_t i = 0; i < n; ++i) {
      const PacketSlot& s = batch.slots()[i];
      EXPECT_FALSE(s.truncated);
      std::vector<std::uint8_t> p(s.data, s.data + s.len);
      if (match(p)) return p;
    }
  }
  return {};
}

core::Ipv6Addr field_addr(const std::vector<std::uint8_t>& p, std::size_t off) {
  core::Ipv6Addr a;
  std::memcpy(a.b.data(), p.data() + off, 16);
  return a;
}

TEST_F(TunNetns, ReadsPacketsTheKernelRoutesIntoIt) {
  ConfiguredTun t;
  ASSERT_TRUE(t.ok);
  UniqueFd s(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 dst{};
  dst.sin6_family = AF_INET6;
  dst.sin6_port = htons(9999);
  std::memcpy(&dst.sin6_addr, v6("fd00:1::5").b.data(), 16);
  const char msg[] = "hello tunnel";
  ASSERT_EQ(::sendto(s.get(), msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst),
            static_cast<ssize_t>(sizeof msg));
  const auto p = read_until(*t.tun, [](const std::vector<std::uint8_t>& pkt) {
    return pkt.size() >= 48 && pkt[6] == 17;  // UDP
  });
  ASSERT_EQ(p.size(), 40u + 8u + sizeof msg) << "UDP packet not seen on the TUN";
  EXPECT_EQ(p[0] >> 4, 6);
  EXPECT_EQ(field_addr(p, 8), v6("fd00::1"));
  EXPECT_EQ(field_addr(p, 24), v6("fd00:1::5"));
  EXPECT_EQ(std::memcmp(p.data() + 48, msg, sizeof msg), 0);
}

std::uint16_t icmpv6_checksum(const std::vector<std::uint8_t>& p) {
  std::uint32_t sum = 0;
  auto add16 = [&](std::uint8_t hi, std::uint8_t lo) { sum += (std::uint32_t{hi} << 8) | lo; };
  for (std::size_t i = 8; i < 40; i += 2)
    add16(p[i], p[i + 1]);  // source and destination
  const std::size_t len = p.size() - 40;
  sum += static_cast<std::uint32_t>(len);
  sum += 58;
  for (std::size_t i = 40; i < p.size(); i += 2)
    add16(p[i], i + 1 < p.size() ? p[i + 1] : 0);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

TEST_F(TunNetns, WrittenPacketIsDeliveredAndAnswered) {
  ConfiguredTun t;
  ASSERT_TRUE(t.ok);
  // An echo request from a far end of the tunnel to our address; the kernel's echo reply
  // takes the route back into the TUN.
  std::vector<std::uint8_t> p(40 + 8 + 4, 0);
  p[0] = 0x60;
  p[5] = 12;  // payload length
  p[6] = 58;  // ICMPv6
  p[7] = 64;  // hop limit
  std::memcpy(p.data() + 8, v6("fd00:1::5").b.data(), 16);
  std::memcpy(p.data() + 24, v6("fd00::1").b.data(), 16);
  p[40] = 128;  // echo request
  p[44] = 0x12;
  p[45] = 0x34;  // identifier
  p[47] = 7;     // sequence
  p[48] = 'p';
  p[49] = 'i';
  p[50] = 'n';
  p[51] = 'g';
  const std::uint16_t ck = icmpv6_checksum(p);
  p[42] = static_cast<std::uint8_t>(ck >> 8);
  p[43] = static_cast<std::uint8_t>(ck);
  // The kernel installs the local route of a new address from a work queue, just after
  // acknowledging it: until then the request is dropped (not ours), so it is repeated.
  std::vector<std::uint8_t> reply;
  for (int attempt = 0; attempt < 20 && reply.empty(); ++attempt) {
    ASSERT_TRUE(t.tun->write(p));
    reply = read_until(
        *t.tun,
        [](const std::vector<std::uint8_t>& pkt) {
          return pkt.size() >= 48 && pkt[6] == 58 && pkt[40] == 129;  // echo reply
        },
        std::chrono::milliseconds(150));
  }
  ASSERT_EQ(reply.size(), p.size()) << "no echo reply came back through the TUN";
  EXPECT_EQ(field_addr(reply, 8), v6("fd00::1"));
  EXPECT_EQ(field_addr(reply, 24), v6("fd00:1::5"));
  EXPECT_EQ(reply[44], 0x12);
  EXPECT_EQ(reply[45], 0x34);
  EXPECT_EQ(reply[47], 7);
  EXPECT_EQ(std::memcmp(reply.data() + 48, "ping", 4), 0);
}

TEST_F(TunNetns, WriteOfGarbageIsRefused) {
  ConfiguredTun t;
  ASSERT_TRUE(t.ok);
  // Neither IPv4 nor IPv6 (version nibble 0): the TUN driver refuses it (EINVAL).
  const std::uint8_t garbage[] = {0x00, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_FALSE(t.tun->write(garbage));
  EXPECT_FALSE(t.tun->write({}));
}

// --- IPv4 monitor -----------------------------------------------------------------------

std::unique_ptr<Ipv4Monitor> make_monitor() {
  auto m = open_ipv4_monitor();
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error());
  return m.ok() ? std::move(*m) : nullptr;
}

Ipv4Snapshot dump_or_die(Ipv4Monitor& m) {
  auto s = m.dump();
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : Ipv4Snapshot{};
}

bool has_address(const Ipv4Snapshot& s, int ifindex, const char* addr, unsigned plen) {
  for (const auto& a : s.addresses) {
    if (a.ifindex == ifindex && a.addr == v4(addr) && a.prefix_len == plen) return true;
  }
  return false;
}

bool has_default(const Ipv4Snapshot& s, int ifindex, const char* gw, std::uint32_t metric) {
  for (const auto& r : s.default_routes) {
    if (r.ifindex == ifindex && r.gateway == v4(gw) && r.metric == metric) return true;
  }
  return false;
}

TEST_F(Ipv4MonitorNetns, SeesAddressesAndDefaultRoutes) {
  auto nc = make_netconfig();
  ASSERT_TRUE(nc);
  const int lo = static_cast<int>(::if_nametoindex("lo"));
  ASSERT_GT(lo, 0);
  expect_ok(nc->set_up(lo));
  auto mon = make_monitor();
  ASSERT_TRUE(mon);
  EXPECT_GE(mon->fd(), 0);
  EXPECT_FALSE(mon->drain()) << "nothing happened yet";

  const Ipv4Snapshot before = dump_or_die(*mon);
  EXPECT_TRUE(has_address(before, lo, "127.0.0.1", 8));
  EXPECT_TRUE(before.default_routes.empty());

  ip("addr add 192.0.2.1/24 dev lo");
  ASSERT_TRUE(wait_for(mon->fd()));
  EXPECT_TRUE(mon->drain());
  EXPECT_FALSE(mon->drain()) << "drain must consume what it reported";
  EXPECT_TRUE(has_address(dump_or_die(*mon), lo, "192.0.2.1", 24));

  // Neither a non-default route nor a default route outside the main table matters.
  ip("route add 198.51.100.0/24 dev lo");
  ip("route add default dev lo table 100");
  EXPECT_FALSE(mon->drain());

  ip("route add default dev lo metric 7");
  ASSERT_TRUE(wait_for(mon->fd()));
  EXPECT_TRUE(mon->drain());
  ip("route add default via 192.0.2.254 dev lo metric 9");
  EXPECT_TRUE(mon->drain());
  const Ipv4Snapshot after = dump_or_die(*mon);
  EXPECT_TRUE(has_default(after, lo, "0.0.0.0", 7));
  EXPECT_TRUE(has_default(after, lo, "192.0.2.254", 9));
  EXPECT_EQ(after.default_routes.size(), 2u) << "table 100's default must not be listed";

  ip("route del default dev lo metric 7");
  EXPECT_TRUE(mon->drain());
  EXPECT_FALSE(has_default(dump_or_die(*mon), lo, "0.0.0.0", 7));
  ip("addr del 192.0.2.1/24 dev lo");
  EXPECT_TRUE(mon->drain());
  EXPECT_FALSE(has_address(dump_or_die(*mon), lo, "192.0.2.1", 24));
}

TEST_F(Ipv4MonitorNetns, MultipathDefaultRouteUsesFirstHop) {
  auto nc = make_netconfig();
  ASSERT_TRUE(nc);
  const int lo = static_cast<int>(::if_nametoindex("lo"));
  expect_ok(nc->set_up(lo));
  ip("addr add 192.0.2.1/24 dev lo");
  auto mon = make_monitor();
  ASSERT_TRUE(mon);
  ip("route add default metric 5 nexthop via 192.0.2.10 dev lo nexthop via 192.0.2.11 dev lo");
  EXPECT_TRUE(mon->drain());
  const Ipv4Snapshot s = dump_or_die(*mon);
  ASSERT_EQ(s.default_routes.size(), 1u);
  EXPECT_TRUE(has_default(s, lo, "192.0.2.10", 5));
}

TEST_F(Ipv4MonitorNetns, LinkChangesAreReported) {
  auto mon = make_monitor();
  ASSERT_TRUE(mon);
  auto tun = make_tun("m6ttest0");
  ASSERT_TRUE(tun);
  ASSERT_TRUE(wait_for(mon->fd()));
  EXPECT_TRUE(mon->drain());
  tun.reset();
  EXPECT_TRUE(mon->drain());
}

TEST_F(Ipv4MonitorNetns, LargeDumpSpansSeveralMessages) {
  char path[] = "/tmp/m6t-ip-batch-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  {
    std::ofstream batch(path);
    for (int i = 0; i < 600; ++i) {
      batch << "addr add 198.18." << i / 200 << "." << i % 200 + 1 << "/32 dev lo\n";
    }
  }
  ::close(fd);
  ip(std::string("-batch ") + path);
  ::unlink(path);
  auto mon = make_monitor();
  ASSERT_TRUE(mon);
  const Ipv4Snapshot s = dump_or_die(*mon);
  // lo is down in a fresh namespace, so these are all its addresses (no 127.0.0.1).
  EXPECT_EQ(s.addresses.size(), 600u);
  EXPECT_TRUE(has_address(s, 1, "198.18.0.1", 32));
  EXPECT_TRUE(has_address(s, 1, "198.18.2.200", 32));
}

}  // namespace
}  // namespace m6t::os

int main(int argc, char** argv) {
  // Before gtest starts any thread, and for the whole process: see the file comment.
  if (::unshare(CLONE_NEWNET) != 0) {
    m6t::os::g_netns_error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
