// Reading rtnetlink messages, shared by the socket, the configuration requests and the IPv4
// monitor: every length is checked against the buffer before it is used (message_fits), so
// that no message, however malformed, makes a reader leave its buffer.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/address.h"
#include "os/netlink.h"

namespace m6t::os::netlink {

// mnl_nlmsg_ok compares (int)nlmsg_len with the bytes left: a length above 2^31 turns
// negative, passes, and mnl_nlmsg_next then walks backwards out of the buffer (found by
// fuzz/fuzz_netlink.cc). The kernel never sends that, but a parser must not depend on it.
bool message_fits(const nlmsghdr* nlh, int len);

// Attribute table filled by mnl_attr_parse: one pointer per type up to N.
template <int N>
struct AttrTable {
  const nlattr* at[N + 1] = {};
  const nlattr* get(int type) const { return type >= 0 && type <= N ? at[type] : nullptr; }
};

template <int N>
int store_attr(const nlattr* attr, void* data) {
  auto* table = static_cast<AttrTable<N>*>(data);
  const int type = mnl_attr_get_type(attr);
  if (type >= 0 && type <= N) table->at[type] = attr;
  return MNL_CB_OK;
}

std::optional<std::uint32_t> attr_u32(const nlattr* a);
std::optional<core::Ipv4Addr> attr_ipv4(const nlattr* a);
// NETLINK_EXT_ACK: the kernel's own explanation, e.g. "Nexthop device is not up".
std::string extack_message(const nlmsghdr* nlh);
// The routing table of a route message (RTA_TABLE beyond 255).
int route_table(const nlmsghdr* nlh, const rtmsg* rtm);
// Whether a notification may change what the IPv4 monitor's dump() returns.
bool affects_ipv4_snapshot(const nlmsghdr* nlh);
// An RTM_NEWADDR / RTM_NEWROUTE as a dump would record it (others are ignored).
void parse_address(const nlmsghdr* nlh, Ipv4Snapshot& out);
void parse_route(const nlmsghdr* nlh, Ipv4Snapshot& out);

}  // namespace m6t::os::netlink
