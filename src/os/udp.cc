#include "os/udp.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "core/wire.h"
#include "os/unique_fd.h"

namespace m6t::os {
namespace {

sockaddr_in to_sockaddr(const core::Endpoint4& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(e.addr.value);
  sa.sin_port = htons(e.port);
  return sa;
}

core::Endpoint4 from_sockaddr(const sockaddr_in& sa) {
  return core::Endpoint4{core::Ipv4Addr{ntohl(sa.sin_addr.s_addr)}, ntohs(sa.sin_port)};
}

OsStatus set_int(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) return errno_error(what);
  return Ok{};
}

// Root (CAP_NET_ADMIN) may exceed net.core.[rw]mem_max, which is what a gateway serving many
// MNs needs; everyone else gets the sysctl's cap, which is still better than the default.
OsStatus set_buffer(int fd, int force_name, int name, int bytes, const char* what) {
  if (bytes <= 0) return Ok{};
  if (::setsockopt(fd, SOL_SOCKET, force_name, &bytes, sizeof bytes) == 0) return Ok{};
  return set_int(fd, SOL_SOCKET, name, bytes, what);
}

// Room for the largest control message either path gets: IP_PKTINFO on normal receives,
// IP_RECVERR (sock_extended_err + offender address) on the error queue.
constexpr std::size_t kCmsgSpace =
    CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in));

struct alignas(cmsghdr) CmsgBuffer {
  std::uint8_t bytes[kCmsgSpace];
};

class LinuxUdp final : public UdpSocket {
 public:
  LinuxUdp(UniqueFd fd, core::Endpoint4 local, bool connected, bool pmtu)
      : fd_(std::move(fd)), local_(local), connected_(connected), pmtu_(pmtu), df_(pmtu) {}

  int fd() const override { return fd_.get(); }
  core::Endpoint4 local_endpoint() const override { return local_; }

  std::size_t recv_batch(std::span<PacketSlot> slots) override {
    std::size_t total = 0;
    int errors = 0;
    while (total < slots.size()) {
      const std::size_t want = std::min(slots.size() - total, kBatchSize);
      for (std::size_t i = 0; i < want; ++i) {
        PacketSlot& slot = slots[total + i];
        iovs_[i] = iovec{slot.data, slot.capacity};
        msgs_[i] = mmsghdr{};
        msghdr& h = msgs_[i].msg_hdr;
        h.msg_name = &addrs_[i];
        h.msg_namelen = sizeof addrs_[i];
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        h.msg_control = cmsgs_[i].bytes;
        h.msg_controllen = sizeof cmsgs_[i].bytes;
      }
      const int n =
          ::recvmmsg(fd_.get(), msgs_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // Anything else is a pending socket error (an ICMP error reported through sk_err, e.g.
        // ECONNREFUSED). Reporting it clears it, and datagrams may still be queued behind it;
        // the bound only guards against an error that would not clear.
        if (errno == EINTR || ++errors < 4) continue;
        break;
      }
      for (int i = 0; i < n; ++i)
        fill_slot(slots[total + i], msgs_[i]);
      total += static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < want) break;
    }
    return total;
  }

  std::size_t send_batch(std::span<const SendItem> items) override {
    if (!pmtu_) return send_run(items);
    // Path-MTU mode: DF per path. Linux has no per-message DF control for UDP, so
    // the socket's mode is switched between runs of items that differ; all items of a batch
    // usually agree (only a path below 1280 bytes clears DF), so this is rarely a syscall.
    std::size_t sent = 0;
    std::size_t begin = 0;
    while (begin < items.size()) {
      std::size_t end = begin + 1;
      while (end < items.size() && items[end].df == items[begin].df)
        ++end;
      if (items[begin].df != df_) {
        int mode = items[begin].df ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DONT;
        if (::setsockopt(fd_.get(), SOL_IP, IP_MTU_DISCOVER, &mode, sizeof mode) == 0)
          df_ = items[begin].df;
      }
      sent += send_run(items.subspan(begin, end - begin));
      begin = end;
    }
    return sent;
  }

  std::vector<IcmpError> read_errors() override {
    std::vector<IcmpError> out;
    std::uint8_t payload[IcmpError::kMaxQuote];
    for (;;) {
      sockaddr_in addr{};
      CmsgBuffer control;
      iovec iov{payload, sizeof payload};
      msghdr h{};
      h.msg_name = &addr;
      h.msg_namelen = sizeof addr;
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      h.msg_control = control.bytes;
      h.msg_controllen = sizeof control.bytes;
      const ssize_t n = ::recvmsg(fd_.get(), &h, MSG_ERRQUEUE | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN: the queue is empty
      }
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR) continue;
        sock_extended_err ee;
        std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
        // ICMP errors from routers, and local ones (EMSGSIZE with the device MTU in ee_info
        // when DF is set in path-MTU mode) which the engines handle the same way.
        if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_LOCAL) continue;
        IcmpError e;
        e.remote = from_sockaddr(addr);
        e.type = ee.ee_origin == SO_EE_ORIGIN_ICMP ? ee.ee_type : 0;
        e.code = ee.ee_origin == SO_EE_ORIGIN_ICMP ? ee.ee_code : 0;
        e.info = ee.ee_info;
        e.err = static_cast<int>(ee.ee_errno);
        e.quote.assign(payload, payload + std::min<std::size_t>(n, sizeof payload));
        out.push_back(std::move(e));
      }
    }
    return out;
  }

 private:
  std::size_t send_run(std::span<const SendItem> items) {
    std::size_t sent = 0;
    std::size_t next = 0;
    while (next < items.size()) {
      const std::size_t want = std::min(items.size() - next, kBatchSize);
      for (std::size_t i = 0; i < want; ++i)
        prepare_send(i, items[next + i]);
      const int n = ::sendmmsg(fd_.get(), msgs_.data(), static_cast<unsigned>(want), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // The socket buffer (EAGAIN) or the device queue (ENOBUFS) is full: every following
        // item would fail the same way, so the rest of the batch is left to the caller.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
        // sendmmsg stops at the first failing message and reports its error only when it is
        // the first one; that item alone is bad (EMSGSIZE, ECONNREFUSED from an earlier ICMP
        // error, EPERM from a firewall, EHOSTUNREACH, ...), so skip it and go on.
        ++next;
        continue;
      }
      sent += static_cast<std::size_t>(n);
      next += static_cast<std::size_t>(n);
    }
    return sent;
  }

  void fill_slot(PacketSlot& slot, mmsghdr& m) {
    msghdr& h = m.msg_hdr;
    slot.len = std::min<std::size_t>(m.msg_len, slot.capacity);
    slot.truncated = (h.msg_flags & MSG_TRUNC) != 0;
    slot.remote = from_sockaddr(*static_cast<const sockaddr_in*>(h.msg_name));
    slot.local = local_;
    slot.ifindex = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        // ipi_addr is the header's destination: the address the MN sent to, which is where
        // replies must come from for its NAT to let them in.
        slot.local.addr = core::Ipv4Addr{ntohl(info.ipi_addr.s_addr)};
        slot.ifindex = static_cast<std::uint32_t>(info.ipi_ifindex);
      }
    }
  }

  void prepare_send(std::size_t i, const SendItem& item) {
    iovs_[i] = iovec{const_cast<std::uint8_t*>(item.data.data()), item.data.size()};
    msgs_[i] = mmsghdr{};
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_iov = &iovs_[i];
    h.msg_iovlen = 1;
    if (!connected_) {
      addrs_[i] = to_sockaddr(item.remote);
      h.msg_name = &addrs_[i];
      h.msg_namelen = sizeof addrs_[i];
    }
    if (local_.addr.is_unspecified() && !item.local.addr.is_unspecified()) {
      // A gateway bound to 0.0.0.0 on a multi-addressed host must answer from the address
      // the MN sent to, or the MN's NAT drops the reply as coming from an unknown peer.
      h.msg_control = cmsgs_[i].bytes;
      h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      info.ipi_spec_dst.s_addr = htonl(item.local.addr.value);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
  }

  UniqueFd fd_;
  core::Endpoint4 local_;
  bool connected_;
  bool pmtu_;
  bool df_;  // the socket's current mode in path-MTU mode: PROBE (DF set) or DONT
  // Reused by every call: the data path does not allocate.
  std::array<mmsghdr, kBatchSize> msgs_{};
  std::array<iovec, kBatchSize> iovs_{};
  std::array<sockaddr_in, kBatchSize> addrs_{};
  std::array<CmsgBuffer, kBatchSize> cmsgs_{};
};

}  // namespace

OsResult<std::unique_ptr<UdpSocket>> open_udp(const UdpOptions& options) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket udp");
  const int s = fd.get();

  if (auto r = set_int(s, SOL_IP, IP_PKTINFO, 1, "setsockopt IP_PKTINFO"); !r)
    return OsError{r.error()};
  if (options.pmtu_discovery) {
    // PROBE, not DO: DF is set but the kernel's cached path MTU does not cap our sends; the
    // engines track each path themselves and learn from the queued ICMP errors.
    if (auto r =
            set_int(s, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, "setsockopt IP_MTU_DISCOVER");
        !r) {
      return OsError{r.error()};
    }
    if (auto r = set_int(s, SOL_IP, IP_RECVERR, 1, "setsockopt IP_RECVERR"); !r) {
      return OsError{r.error()};
    }
  } else {
    // §2.6: "SHOULD NOT set the DF bit of the encapsulating IPv4 header".
    if (auto r =
            set_int(s, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT, "setsockopt IP_MTU_DISCOVER");
        !r) {
      return OsError{r.error()};
    }
  }
  if (auto r = set_buffer(s, SO_RCVBUFFORCE, SO_RCVBUF, options.rcvbuf, "setsockopt SO_RCVBUF");
      !r) {
    return OsError{r.error()};
  }
  if (auto r = set_buffer(s, SO_SNDBUFFORCE, SO_SNDBUF, options.sndbuf, "setsockopt SO_SNDBUF");
      !r) {
    return OsError{r.error()};
  }
  if (!options.device.empty()) {
    if (::setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, options.device.data(),
                     static_cast<socklen_t>(options.device.size())) < 0) {
      return errno_error("SO_BINDTODEVICE " + options.device);
    }
  }

  const sockaddr_in bind_addr = to_sockaddr(options.bind);
  if (::bind(s, reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) < 0) {
    return errno_error("bind " + options.bind.to_string());
  }
  sockaddr_in bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) {
    return errno_error("getsockname");
  }
  if (options.connect) {
    const sockaddr_in peer = to_sockaddr(*options.connect);
    if (::connect(s, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) < 0) {
      return errno_error("connect " + options.connect->to_string());
    }
  }
  return std::unique_ptr<UdpSocket>(new LinuxUdp(
      std::move(fd), from_sockaddr(bound), options.connect.has_value(), options.pmtu_discovery));
}

bool IcmpError::frag_needed() const {
  if (type == wire::kIcmpv4DestUnreachable && code == wire::kIcmpv4FragNeeded) return true;
  return type == 0 && code == 0 && err == EMSGSIZE;
}

}  // namespace m6t::os
