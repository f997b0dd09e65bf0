// The IPv4 monitor (Ipv4Monitor): notifications of IPv4 addresses, default routes and links,
// and dumps of them, through two rtnetlink sockets.
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <functional>
#include <type_traits>

#include "os/netlink.h"
#include "os/netlink_parse.h"
#include "os/netlink_socket.h"

namespace m6t::os {
namespace {

using netlink::NlSocket;

// An interrupted dump is redone at most this many times.
constexpr int kDumpAttempts = 3;

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
      for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
           netlink::message_fits(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        if (netlink::affects_ipv4_snapshot(nlh)) changed = true;
      }
    }
    return changed;
  }

  OsResult<Ipv4Snapshot> dump() override {
    for (int attempt = 1;; ++attempt) {
      Ipv4Snapshot snapshot;
      bool interrupted_addr = false;
      bool interrupted_route = false;
      auto addresses =
          dump_ipv4<ifaddrmsg>(RTM_GETADDR, "dump IPv4 addresses", interrupted_addr,
                               [&](const nlmsghdr* m) { netlink::parse_address(m, snapshot); });
      if (!addresses) return OsError{addresses.error()};
      auto routes = dump_ipv4<rtmsg>(RTM_GETROUTE, "dump IPv4 routes", interrupted_route,
                                     [&](const nlmsghdr* m) { netlink::parse_route(m, snapshot); });
      if (!routes) return OsError{routes.error()};
      // An interrupted dump may miss entries; after a few tries a slightly stale view is
      // still better than none, and the change that interrupted it will notify again.
      if ((!interrupted_addr && !interrupted_route) || attempt == kDumpAttempts) return snapshot;
    }
  }

 private:
  // A dump of the IPv4 entries of one kind (Msg: ifaddrmsg or rtmsg, its family header).
  template <class Msg>
  OsStatus dump_ipv4(std::uint16_t type, const char* what, bool& interrupted,
                     const std::function<void(const nlmsghdr*)>& each) {
    alignas(nlmsghdr) char buf[256] = {};
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    auto* msg = static_cast<Msg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Msg)));
    if constexpr (std::is_same_v<Msg, ifaddrmsg>)
      msg->ifa_family = AF_INET;
    else
      msg->rtm_family = AF_INET;
    return requests_.dump(nlh, what, each, interrupted);
  }

  NlSocket events_;
  NlSocket requests_;
};

}  // namespace

OsResult<std::unique_ptr<Ipv4Monitor>> open_ipv4_monitor() {
  auto events = NlSocket::open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_LINK);
  if (!events) return OsError{events.error()};
  // Dumps go through their own socket: their answers never interleave with notifications.
  auto requests = NlSocket::open(0);
  if (!requests) return OsError{requests.error()};
  return std::unique_ptr<Ipv4Monitor>(
      new LinuxIpv4Monitor(std::move(*events), std::move(*requests)));
}

}  // namespace m6t::os
