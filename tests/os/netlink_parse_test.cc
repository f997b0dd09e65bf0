// Regression tests for what fuzz/fuzz_netlink.cc found in the parsing of rtnetlink messages
// (src/os/netlink.cc, parse_netlink_messages).
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "os/netlink.h"

namespace m6t::os {
namespace {

struct Buf {
  std::vector<std::uint32_t> words;  // 4-byte aligned, like the kernel's buffer
  std::size_t size = 0;
  void put(const void* p, std::size_t n) {
    words.resize((size + n + 3) / 4);
    std::memcpy(reinterpret_cast<char*>(words.data()) + size, p, n);
    size += n;
  }
  template <class T>
  void put(const T& v) {
    put(&v, sizeof v);
  }
  std::span<const std::uint8_t> span() const {
    return {reinterpret_cast<const std::uint8_t*>(words.data()), size};
  }
};

// An IPv4 address message for ifindex 2: 192.0.2.2/24.
void put_address(Buf& b, std::uint32_t claimed_len = 0) {
  nlmsghdr h{};
  h.nlmsg_len = claimed_len ? claimed_len : NLMSG_LENGTH(sizeof(ifaddrmsg) + 8);
  h.nlmsg_type = RTM_NEWADDR;
  b.put(h);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = 24;
  ifa.ifa_index = 2;
  b.put(ifa);
  nlattr a{8, IFA_LOCAL};
  b.put(a);
  const std::uint8_t ip[4] = {192, 0, 2, 2};
  b.put(ip, 4);
}

TEST(NetlinkParse, ReadsAnAddress) {
  Buf b;
  put_address(b);
  Ipv4Snapshot s;
  auto r = parse_netlink_messages(b.span(), s);
  EXPECT_EQ(r.messages, 1u);
  EXPECT_TRUE(r.affects_snapshot);
  ASSERT_EQ(s.addresses.size(), 1u);
  EXPECT_EQ(s.addresses[0].addr.value, 0xc0000202u);
}

// libmnl's mnl_nlmsg_ok took a length above 2^31 for a negative one, and the walk went
// backwards out of the buffer (an ASan SEGV in the fuzzer).
TEST(NetlinkParse, LengthAboveTwoGigabytesEndsTheWalk) {
  Buf b;
  put_address(b, 0xffffffd4u);
  put_address(b);
  Ipv4Snapshot s;
  auto r = parse_netlink_messages(b.span(), s);
  EXPECT_EQ(r.messages, 0u);
  EXPECT_TRUE(s.addresses.empty());
}

// An extended ack whose echoed request claims fewer bytes than a header: the attribute
// offset wrapped around and attributes were read from inside the echoed header.
TEST(NetlinkParse, EchoedRequestShorterThanAHeaderGivesNoExtack) {
  Buf b;
  nlmsghdr h{};
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_flags = NLM_F_ACK_TLVS;  // not capped: the request is echoed
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr) + 8);
  b.put(h);
  nlmsgerr e{};
  e.error = -22;
  e.msg.nlmsg_len = 4;    // offset 4 + 20 - 16: the attribute below, inside the echo
  e.msg.nlmsg_type = 12;  // as nla_len
  e.msg.nlmsg_flags = NLMSGERR_ATTR_MSG;  // as nla_type
  std::memcpy(&e.msg.nlmsg_seq, "evilwxy", 8);
  b.put(e);
  const std::uint32_t pad[2] = {0, 0};
  b.put(pad, 8);
  Ipv4Snapshot s;
  auto r = parse_netlink_messages(b.span(), s);
  EXPECT_EQ(r.messages, 1u);
  EXPECT_EQ(r.extack, "");
}

TEST(NetlinkParse, ReadsAnExtack) {
  Buf b;
  const char text[] = "Nexthop device is not up";
  const std::size_t attr_len = NLA_HDRLEN + sizeof text;
  nlmsghdr h{};
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr) + NLA_ALIGN(attr_len));
  b.put(h);
  nlmsgerr e{};
  e.error = -22;
  e.msg.nlmsg_len = sizeof(nlmsghdr);
  b.put(e);
  nlattr a{static_cast<std::uint16_t>(attr_len), NLMSGERR_ATTR_MSG};
  b.put(a);
  char padded[NLA_ALIGN(sizeof text)] = {};
  std::memcpy(padded, text, sizeof text);
  b.put(padded, sizeof padded);
  Ipv4Snapshot s;
  EXPECT_EQ(parse_netlink_messages(b.span(), s).extack, text);
}

}  // namespace
}  // namespace m6t::os
