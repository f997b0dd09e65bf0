#include "os/netlink_parse.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>

#include <algorithm>
#include <cstring>

namespace m6t::os {
namespace netlink {

bool message_fits(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= static_cast<unsigned>(len);
}

std::optional<std::uint32_t> attr_u32(const nlattr* a) {
  if (a == nullptr || mnl_attr_get_payload_len(a) < sizeof(std::uint32_t)) return std::nullopt;
  return mnl_attr_get_u32(a);
}

std::optional<core::Ipv4Addr> attr_ipv4(const nlattr* a) {
  if (a == nullptr || mnl_attr_get_payload_len(a) < 4) return std::nullopt;
  std::uint32_t be;
  std::memcpy(&be, mnl_attr_get_payload(a), sizeof be);
  return core::Ipv4Addr{ntohl(be)};
}

std::string extack_message(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  const std::size_t payload_len = mnl_nlmsg_get_payload_len(nlh);
  std::size_t offset = sizeof(nlmsgerr);
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) {
    // The echoed request; a length below a header would wrap the offset around.
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return {};
    offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  offset = MNL_ALIGN(offset);
  if (offset >= payload_len) return {};
  AttrTable<NLMSGERR_ATTR_MAX> table;
  if (mnl_attr_parse_payload(reinterpret_cast<const char*>(err) + offset, payload_len - offset,
                             store_attr<NLMSGERR_ATTR_MAX>, &table) < 0) {
    return {};
  }
  const nlattr* msg = table.get(NLMSGERR_ATTR_MSG);
  if (msg == nullptr || mnl_attr_validate(msg, MNL_TYPE_NUL_STRING) < 0) return {};
  return mnl_attr_get_str(msg);
}

int route_table(const nlmsghdr* nlh, const rtmsg* rtm) {
  AttrTable<RTA_MAX> attrs;
  mnl_attr_parse(nlh, sizeof(rtmsg), store_attr<RTA_MAX>, &attrs);
  // rtm_table is 8 bits; RTA_TABLE carries ids above 255 (and the same value below).
  if (auto t = attr_u32(attrs.get(RTA_TABLE))) return static_cast<int>(*t);
  return rtm->rtm_table;
}

bool affects_ipv4_snapshot(const nlmsghdr* nlh) {
  switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      // A link going down or away takes its addresses and routes' usability with it.
      return true;
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) return false;
      const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
      return ifa->ifa_family == AF_INET;
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) return false;
      const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
      return rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 0 &&
             route_table(nlh, rtm) == RT_TABLE_MAIN;
    }
    default:
      return false;
  }
}

void parse_address(const nlmsghdr* nlh, Ipv4Snapshot& out) {
  if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) {
    return;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET) return;
  AttrTable<IFA_MAX> attrs;
  mnl_attr_parse(nlh, sizeof(ifaddrmsg), store_attr<IFA_MAX>, &attrs);
  // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always our own.
  auto addr = attr_ipv4(attrs.get(IFA_LOCAL));
  if (!addr) addr = attr_ipv4(attrs.get(IFA_ADDRESS));
  if (!addr) return;
  out.addresses.push_back(Ipv4Address{static_cast<int>(ifa->ifa_index), *addr, ifa->ifa_prefixlen});
}

void parse_route(const nlmsghdr* nlh, Ipv4Snapshot& out) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) return;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  // Only usable default routes: blackhole/unreachable/prohibit defaults lead nowhere.
  if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST) {
    return;
  }
  AttrTable<RTA_MAX> attrs;
  mnl_attr_parse(nlh, sizeof(rtmsg), store_attr<RTA_MAX>, &attrs);
  int table = rtm->rtm_table;
  if (auto t = attr_u32(attrs.get(RTA_TABLE))) table = static_cast<int>(*t);
  if (table != RT_TABLE_MAIN) return;

  Ipv4DefaultRoute route;
  route.metric = attr_u32(attrs.get(RTA_PRIORITY)).value_or(0);
  if (auto oif = attr_u32(attrs.get(RTA_OIF))) route.ifindex = static_cast<int>(*oif);
  if (auto gw = attr_ipv4(attrs.get(RTA_GATEWAY))) route.gateway = *gw;
  if (const nlattr* mp = attrs.get(RTA_MULTIPATH); mp != nullptr && route.ifindex == 0) {
    // ECMP: the first next hop stands for the route (the attachment is what matters, §3).
    const auto len = mnl_attr_get_payload_len(mp);
    const auto* nh = static_cast<const rtnexthop*>(mnl_attr_get_payload(mp));
    if (len >= sizeof(rtnexthop) && nh->rtnh_len >= sizeof(rtnexthop) && nh->rtnh_len <= len) {
      route.ifindex = nh->rtnh_ifindex;
      AttrTable<RTA_MAX> nh_attrs;
      mnl_attr_parse_payload(reinterpret_cast<const char*>(nh) + RTNH_LENGTH(0),
                             nh->rtnh_len - RTNH_LENGTH(0), store_attr<RTA_MAX>, &nh_attrs);
      if (auto gw = attr_ipv4(nh_attrs.get(RTA_GATEWAY))) route.gateway = *gw;
    }
  }
  out.default_routes.push_back(route);
}

}  // namespace netlink

NetlinkParse parse_netlink_messages(std::span<const std::uint8_t> buf, Ipv4Snapshot& out) {
  NetlinkParse r;
  int len = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
  for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
       netlink::message_fits(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    ++r.messages;
    if (netlink::affects_ipv4_snapshot(nlh)) r.affects_snapshot = true;
    netlink::parse_address(nlh, out);
    netlink::parse_route(nlh, out);
    if (nlh->nlmsg_type == NLMSG_ERROR && mnl_nlmsg_get_payload_len(nlh) >= sizeof(nlmsgerr))
      r.extack = netlink::extack_message(nlh);
  }
  return r;
}

}  // namespace m6t::os
