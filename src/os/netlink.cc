#include "os/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <utility>

namespace m6t::os {
namespace {

// The kernel answers every request before returning from its sendmsg path; this only bounds
// a wait that should never happen (a lost reply after ENOBUFS on our own socket).
constexpr int kReplyTimeoutMs = 5000;
// Large enough for one dump skb (the kernel allocates at most 32 KiB for those).
constexpr std::size_t kRecvBufferSize = 64 * 1024;
constexpr int kDumpAttempts = 3;

struct MnlCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlPtr = std::unique_ptr<mnl_socket, MnlCloser>;

std::string dev_label(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex > 0 && ::if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr) {
    return std::string("dev ") + name;
  }
  return "ifindex " + std::to_string(ifindex);
}

// mnl_nlmsg_ok compares (int)nlmsg_len with the bytes left: a length above 2^31 turns
// negative, passes, and mnl_nlmsg_next then walks backwards out of the buffer (found by
// fuzz/fuzz_netlink.cc). The kernel never sends that, but a parser must not depend on it.
bool message_fits(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= static_cast<unsigned>(len);
}

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

// NETLINK_EXT_ACK: the kernel's own explanation, e.g. "Nexthop device is not up".
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

std::string kernel_error(const std::string& what, const nlmsghdr* nlh, int err) {
  OsError e = errno_error(what, err);
  if (std::string detail = extack_message(nlh); !detail.empty()) {
    e.message += " (" + detail + ")";
  }
  return e.message;
}

// One rtnetlink socket. Requests are sent one at a time and answered before the next one.
class NlSocket {
 public:
  static OsResult<NlSocket> open(unsigned groups) {
    MnlPtr nl(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!nl) return errno_error("netlink socket");
    int one = 1;
    // Best effort: kernels before 4.12 have no extended acks, and messages are only nicer.
    mnl_socket_setsockopt(nl.get(), NETLINK_EXT_ACK, &one, sizeof one);
    if (mnl_socket_bind(nl.get(), groups, MNL_SOCKET_AUTOPID) < 0) {
      return errno_error("netlink bind");
    }
    return NlSocket(std::move(nl));
  }

  int fd() const { return mnl_socket_get_fd(nl_.get()); }
  std::span<std::uint8_t> buffer() { return {buf_.get(), kRecvBufferSize}; }

  // Sends a request (type, flags and payload set by the caller) and waits for its
  // acknowledgement; `kernel_err` receives the kernel's errno (0 on success).
  OsStatus request(nlmsghdr* nlh, const std::string& what, int* kernel_err = nullptr) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (kernel_err != nullptr) *kernel_err = 0;
    return exchange(nlh, what, [&](const nlmsghdr* reply) -> std::optional<OsStatus> {
      if (reply->nlmsg_type != NLMSG_ERROR) return std::nullopt;
      if (mnl_nlmsg_get_payload_len(reply) < sizeof(nlmsgerr)) {
        return OsStatus(OsError{what + ": malformed netlink acknowledgement"});
      }
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply));
      if (err->error == 0) return OsStatus(Ok{});
      if (kernel_err != nullptr) *kernel_err = -err->error;
      return OsStatus(OsError{kernel_error(what, reply, -err->error)});
    });
  }

  // Sends a dump request and passes each answer message to `each`. `interrupted` reports
  // NLM_F_DUMP_INTR: the table changed during the dump, which then has to be redone.
  OsStatus dump(nlmsghdr* nlh, const std::string& what,
                const std::function<void(const nlmsghdr*)>& each, bool& interrupted) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    interrupted = false;
    return exchange(nlh, what, [&](const nlmsghdr* reply) -> std::optional<OsStatus> {
      if ((reply->nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
      if (reply->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(reply) < sizeof(nlmsgerr)) {
          return OsStatus(OsError{what + ": malformed netlink error"});
        }
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply));
        return OsStatus(OsError{kernel_error(what, reply, -err->error)});
      }
      if (reply->nlmsg_type == NLMSG_DONE) {
        int err = 0;
        if (mnl_nlmsg_get_payload_len(reply) >= sizeof err) {
          std::memcpy(&err, mnl_nlmsg_get_payload(reply), sizeof err);
        }
        if (err < 0) return OsStatus(OsError{kernel_error(what, reply, -err)});
        return OsStatus(Ok{});
      }
      each(reply);
      return std::nullopt;
    });
  }

 private:
  explicit NlSocket(MnlPtr nl)
      : nl_(std::move(nl)),
        portid_(mnl_socket_get_portid(nl_.get())),
        seq_(static_cast<unsigned>(std::time(nullptr))),
        buf_(new std::uint8_t[kRecvBufferSize]) {}

  // Sends nlh with a fresh sequence number, then feeds each reply carrying it to `on_reply`
  // until that returns a final status.
  template <class OnReply>
  OsStatus exchange(nlmsghdr* nlh, const std::string& what, OnReply on_reply) {
    const unsigned seq = ++seq_;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(nl_.get(), nlh, nlh->nlmsg_len) < 0) return errno_error(what);
    for (;;) {
      pollfd p{fd(), POLLIN, 0};
      const int ready = ::poll(&p, 1, kReplyTimeoutMs);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return errno_error(what + ": poll");
      }
      if (ready == 0) return OsError{what + ": no answer from the kernel"};
      const ssize_t n = mnl_socket_recvfrom(nl_.get(), buf_.get(), kRecvBufferSize);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return errno_error(what + ": netlink receive");
      }
      auto len = static_cast<int>(n);
      for (const auto* reply = reinterpret_cast<const nlmsghdr*>(buf_.get());
           message_fits(reply, len); reply = mnl_nlmsg_next(reply, &len)) {
        // Stale answers to an earlier request that timed out carry an older number.
        if (reply->nlmsg_seq != seq || reply->nlmsg_pid != portid_) continue;
        if (std::optional<OsStatus> done = on_reply(reply)) return std::move(*done);
      }
    }
  }

  MnlPtr nl_;
  unsigned portid_;
  unsigned seq_;
  std::unique_ptr<std::uint8_t[]> buf_;
};

// Room for any request built here (the largest: a route with three attributes).
constexpr std::size_t kRequestSize = 512;

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
    std::memset(buf, 0, kRequestSize);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nlh;
  }

  static nlmsghdr* address_request(char* buf, std::uint16_t type, std::uint16_t flags, int ifindex,
                                   const core::Ipv6Addr& addr, unsigned prefix_len) {
    std::memset(buf, 0, kRequestSize);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
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
    std::memset(buf, 0, kRequestSize);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
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

  NlSocket nl_;
};

int route_table(const nlmsghdr* nlh, const rtmsg* rtm) {
  AttrTable<RTA_MAX> attrs;
  mnl_attr_parse(nlh, sizeof(rtmsg), store_attr<RTA_MAX>, &attrs);
  // rtm_table is 8 bits; RTA_TABLE carries ids above 255 (and the same value below).
  if (auto t = attr_u32(attrs.get(RTA_TABLE))) return static_cast<int>(*t);
  return rtm->rtm_table;
}

// Whether a notification may change what dump() returns.
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

class LinuxIpv4Monitor final : public Ipv4Monitor {
 public:
  LinuxIpv4Monitor(NlSocket events, NlSocket requests)
      : events_(std::move(events)), requests_(std::move(requests)) {}

  int fd() const override { return events_.fd(); }

  bool drain() override {
    bool changed = false;
    const std::span<std::uint8_t> buf = events_.buffer();
    for (;;) {
      // MSG_TRUNC: learn the real size of a message that did not fit.
      const ssize_t n = ::recv(events_.fd(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) continue;
        // ENOBUFS: the kernel dropped notifications for us; only a dump can tell what.
        if (errno == ENOBUFS) {
          changed = true;
          continue;
        }
        break;  // EAGAIN: all read
      }
      if (static_cast<std::size_t>(n) > buf.size()) {
        changed = true;
        continue;
      }
      auto len = static_cast<int>(n);
      for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); message_fits(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (affects_ipv4_snapshot(nlh)) changed = true;
      }
    }
    return changed;
  }

  OsResult<Ipv4Snapshot> dump() override {
    for (int attempt = 1;; ++attempt) {
      Ipv4Snapshot snapshot;
      bool interrupted_addr = false;
      bool interrupted_route = false;
      {
        alignas(nlmsghdr) char buf[256] = {};
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETADDR;
        auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
        ifa->ifa_family = AF_INET;
        auto status = requests_.dump(
            nlh, "dump IPv4 addresses", [&](const nlmsghdr* m) { parse_address(m, snapshot); },
            interrupted_addr);
        if (!status) return OsError{status.error()};
      }
      {
        alignas(nlmsghdr) char buf[256] = {};
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
        rtm->rtm_family = AF_INET;
        auto status = requests_.dump(
            nlh, "dump IPv4 routes", [&](const nlmsghdr* m) { parse_route(m, snapshot); },
            interrupted_route);
        if (!status) return OsError{status.error()};
      }
      // An interrupted dump may miss entries; after a few tries a slightly stale view is
      // still better than none, and the change that interrupted it will notify again.
      if ((!interrupted_addr && !interrupted_route) || attempt == kDumpAttempts) return snapshot;
    }
  }

 private:
  NlSocket events_;
  NlSocket requests_;
};

}  // namespace

OsResult<std::unique_ptr<NetConfig>> open_netconfig() {
  auto nl = NlSocket::open(0);
  if (!nl) return OsError{nl.error()};
  return std::unique_ptr<NetConfig>(new LinuxNetConfig(std::move(*nl)));
}

OsResult<std::unique_ptr<Ipv4Monitor>> open_ipv4_monitor() {
  auto events = NlSocket::open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_LINK);
  if (!events) return OsError{events.error()};
  // Dumps go through their own socket: their answers never interleave with notifications.
  auto requests = NlSocket::open(0);
  if (!requests) return OsError{requests.error()};
  return std::unique_ptr<Ipv4Monitor>(
      new LinuxIpv4Monitor(std::move(*events), std::move(*requests)));
}

NetlinkParse parse_netlink_messages(std::span<const std::uint8_t> buf, Ipv4Snapshot& out) {
  NetlinkParse r;
  int len = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
  for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); message_fits(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    ++r.messages;
    if (affects_ipv4_snapshot(nlh)) r.affects_snapshot = true;
    parse_address(nlh, out);
    parse_route(nlh, out);
    if (nlh->nlmsg_type == NLMSG_ERROR && mnl_nlmsg_get_payload_len(nlh) >= sizeof(nlmsgerr))
      r.extack = extack_message(nlh);
  }
  return r;
}

}  // namespace m6t::os
