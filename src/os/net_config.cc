// Link, address and route configuration over rtnetlink (NetConfig).
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "os/netlink.h"
#include "os/netlink_socket.h"

namespace m6t::os {
namespace {

using netlink::dev_label;
using netlink::NlSocket;

// Room for any request built here (the largest: a route with three attributes).
constexpr std::size_t kRequestSize = 512;

// A request of `type` in `buf`, zeroed, with its family header `Msg` in place.
template <class Msg>
Msg* start_request(char* buf, std::uint16_t type, std::uint16_t flags, nlmsghdr*& nlh) {
  std::memset(buf, 0, kRequestSize);
  nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  return static_cast<Msg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Msg)));
}

class LinuxNetConfig final : public NetConfig {
 public:
  explicit LinuxNetConfig(NlSocket nl) : nl_(std::move(nl)) {}

  OsResult<int> ifindex(const std::string& name) override {
    const unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) return errno_error("ifindex " + name);
    return static_cast<int>(index);
  }

  OsStatus set_mtu(int ifindex, std::uint32_t mtu) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = link_request(buf, ifindex);
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return nl_.request(nlh, "set mtu " + std::to_string(mtu) + " " + dev_label(ifindex));
  }

  OsStatus set_up(int ifindex) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = link_request(buf, ifindex);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return nl_.request(nlh, "set up " + dev_label(ifindex));
  }

  OsStatus make_point_to_point_quiet(int ifindex) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = link_request(buf, ifindex);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifi->ifi_flags = 0;
    ifi->ifi_change = IFF_MULTICAST;
    nlattr* spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    nlattr* inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, spec);
    return nl_.request(nlh, "no link-local address, no multicast " + dev_label(ifindex));
  }

  OsStatus add_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    // REPLACE: re-adding an address the interface already has (a restarted engine, a changed
    // prefix length) updates it instead of failing with EEXIST. The scope is this interface.
    nlmsghdr* nlh =
        address_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, addr, prefix_len);
    return nl_.request(nlh, "add address " + addr.to_string() + "/" + std::to_string(prefix_len) +
                                " " + dev_label(ifindex));
  }

  OsStatus del_address(int ifindex, const core::Ipv6Addr& addr, unsigned prefix_len) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = address_request(buf, RTM_DELADDR, 0, ifindex, addr, prefix_len);
    return nl_.request(nlh, "del address " + addr.to_string() + "/" + std::to_string(prefix_len) +
                                " " + dev_label(ifindex));
  }

  OsStatus add_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                     const core::Ipv6Prefix& src) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    // Not REPLACE: for IPv6 it would swap out whatever route has the same prefix and metric,
    // e.g. the host's own router-advertised default route at metric 1024. Without EXCL the
    // kernel answers EEXIST only for a route identical to ours (same device, no gateway,
    // same metric), which is then already in place.
    nlmsghdr* nlh = route_request(buf, RTM_NEWROUTE, NLM_F_CREATE, ifindex, dst, metric, src);
    int err = 0;
    OsStatus status = nl_.request(nlh, "add route " + route_label(ifindex, dst, metric, src), &err);
    if (err == EEXIST) return Ok{};
    return status;
  }

  OsStatus add_table_route(int ifindex, const TableRoute& r) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = table_route_request(buf, RTM_NEWROUTE, NLM_F_CREATE, ifindex, r);
    int err = 0;
    OsStatus status =
        nl_.request(nlh, "add route " + r.to_string() + " " + dev_label(ifindex), &err);
    if (err == EEXIST) return Ok{};
    return status;
  }

  OsStatus del_table_route(int ifindex, const TableRoute& r) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = table_route_request(buf, RTM_DELROUTE, 0, ifindex, r);
    return nl_.request(nlh, "del route " + r.to_string() + " " + dev_label(ifindex));
  }

  OsStatus del_route(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                     const core::Ipv6Prefix& src) override {
    alignas(nlmsghdr) char buf[kRequestSize];
    nlmsghdr* nlh = route_request(buf, RTM_DELROUTE, 0, ifindex, dst, metric, src);
    return nl_.request(nlh, "del route " + route_label(ifindex, dst, metric, src));
  }

 private:
  static std::string route_label(int ifindex, const core::Ipv6Prefix& dst, std::uint32_t metric,
                                 const core::Ipv6Prefix& src) {
    return dst.to_string() + (src.len ? " from " + src.to_string() : std::string()) + " " +
           dev_label(ifindex) + " metric " + std::to_string(metric);
  }

  static nlmsghdr* link_request(char* buf, int ifindex) {
    nlmsghdr* nlh = nullptr;
    auto* ifi = start_request<ifinfomsg>(buf, RTM_NEWLINK, 0, nlh);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nlh;
  }

  static nlmsghdr* address_request(char* buf, std::uint16_t type, std::uint16_t flags, int ifindex,
                                   const core::Ipv6Addr& addr, unsigned prefix_len) {
    nlmsghdr* nlh = nullptr;
    auto* ifa = start_request<ifaddrmsg>(buf, type, flags, nlh);
    ifa->ifa_family = AF_INET6;
    ifa->ifa_prefixlen = static_cast<std::uint8_t>(prefix_len);
    // §2.2: the address is unique by construction, DAD would only delay the first packet.
    ifa->ifa_flags = IFA_F_NODAD;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<std::uint32_t>(ifindex);
    mnl_attr_put(nlh, IFA_LOCAL, addr.b.size(), addr.b.data());
    mnl_attr_put(nlh, IFA_ADDRESS, addr.b.size(), addr.b.data());
    // ifa_flags has only 8 bits; newer kernels read the full set from IFA_FLAGS.
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    return nlh;
  }

  static nlmsghdr* route_request(char* buf, std::uint16_t type, std::uint16_t flags, int ifindex,
                                 const core::Ipv6Prefix& dst, std::uint32_t metric,
                                 const core::Ipv6Prefix& src) {
    nlmsghdr* nlh = nullptr;
    auto* rtm = start_request<rtmsg>(buf, type, flags, nlh);
    rtm->rtm_family = AF_INET6;
    rtm->rtm_dst_len = static_cast<std::uint8_t>(dst.len);
    rtm->rtm_src_len = static_cast<std::uint8_t>(src.len);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    // Without RTA_DST the kernel takes ::/0: the default route.
    if (dst.len > 0) mnl_attr_put(nlh, RTA_DST, dst.addr.b.size(), dst.addr.b.data());
    if (src.len > 0) mnl_attr_put(nlh, RTA_SRC, src.addr.b.size(), src.addr.b.data());
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<std::uint32_t>(ifindex));
    mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
    return nlh;
  }

  static nlmsghdr* table_route_request(char* buf, std::uint16_t type, std::uint16_t flags,
                                       int ifindex, const TableRoute& r) {
    nlmsghdr* nlh = nullptr;
    auto* rtm = start_request<rtmsg>(buf, type, flags, nlh);
    rtm->rtm_family = r.ipv4 ? AF_INET : AF_INET6;
    rtm->rtm_dst_len = static_cast<std::uint8_t>(r.ipv4 ? 32 : r.v6.len);
    // Tables past 255 exist only as RTA_TABLE; rtm_table then says "see the attribute".
    rtm->rtm_table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
    rtm->rtm_protocol = RTPROT_STATIC;
    // Through a point-to-point device without a next hop: on link.
    rtm->rtm_scope = RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    if (r.ipv4) {
      const auto b = r.v4.bytes();
      mnl_attr_put(nlh, RTA_DST, b.size(), b.data());
    } else if (r.v6.len > 0) {
      mnl_attr_put(nlh, RTA_DST, r.v6.addr.b.size(), r.v6.addr.b.data());
    }
    mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<std::uint32_t>(ifindex));
    return nlh;
  }

  NlSocket nl_;
};

}  // namespace

std::string TableRoute::to_string() const {
  return (ipv4 ? v4.to_string() + "/32" : v6.to_string()) + " table " + std::to_string(table);
}

OsResult<std::unique_ptr<NetConfig>> open_netconfig() {
  auto nl = NlSocket::open(0);
  if (!nl) return OsError{nl.error()};
  return std::unique_ptr<NetConfig>(new LinuxNetConfig(std::move(*nl)));
}

}  // namespace m6t::os
