#include "os/netlink_socket.h"

#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "os/netlink_parse.h"

namespace m6t::os::netlink {

namespace {

// The kernel answers every request before returning from its sendmsg path; this only bounds
// a wait that should never happen (a lost reply after ENOBUFS on our own socket).
constexpr int kReplyTimeoutMs = 5000;

std::string kernel_error(const std::string& what, const nlmsghdr* nlh, int err) {
  OsError e = errno_error(what, err);
  if (std::string detail = extack_message(nlh); !detail.empty()) {
    e.message += " (" + detail + ")";
  }
  return e.message;
}

}  // namespace

std::string dev_label(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex > 0 && ::if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr) {
    return std::string("dev ") + name;
  }
  return "ifindex " + std::to_string(ifindex);
}

OsResult<NlSocket> NlSocket::open(unsigned groups) {
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

NlSocket::NlSocket(MnlPtr nl)
    : nl_(std::move(nl)),
      portid_(mnl_socket_get_portid(nl_.get())),
      seq_(static_cast<unsigned>(std::time(nullptr))),
      buf_(new std::uint8_t[kRecvBufferSize]) {}

OsStatus NlSocket::request(nlmsghdr* nlh, const std::string& what, int* kernel_err) {
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

OsStatus NlSocket::dump(nlmsghdr* nlh, const std::string& what,
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

OsStatus NlSocket::exchange(
    nlmsghdr* nlh, const std::string& what,
    const std::function<std::optional<OsStatus>(const nlmsghdr*)>& on_reply) {
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

}  // namespace m6t::os::netlink
