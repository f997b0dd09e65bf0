// One rtnetlink socket (libmnl): requests sent one at a time and answered before the next
// one, and dumps. Used by the link/address/route configuration and the IPv4 monitor.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "os/result.h"

namespace m6t::os::netlink {

// "dev m6t0", or "ifindex 7" when the name is unknown.
std::string dev_label(int ifindex);

class NlSocket {
 public:
  // Bound to the multicast `groups` (0: requests only), non-blocking, with extended acks.
  static OsResult<NlSocket> open(unsigned groups);

  int fd() const { return mnl_socket_get_fd(nl_.get()); }
  std::span<std::uint8_t> buffer() { return {buf_.get(), kRecvBufferSize}; }

  // Sends a request (type, flags and payload set by the caller) and waits for its
  // acknowledgement; `kernel_err` receives the kernel's errno (0 on success). Errors carry
  // the kernel's reason, e.g. "del route fd00::/48 dev m6t0 metric 1024: No such process".
  OsStatus request(nlmsghdr* nlh, const std::string& what, int* kernel_err = nullptr);
  // Sends a dump request and passes each answer message to `each`. `interrupted` reports
  // NLM_F_DUMP_INTR: the table changed during the dump, which then has to be redone.
  OsStatus dump(nlmsghdr* nlh, const std::string& what,
                const std::function<void(const nlmsghdr*)>& each, bool& interrupted);

 private:
  struct MnlCloser {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  using MnlPtr = std::unique_ptr<mnl_socket, MnlCloser>;
  // Large enough for one dump skb (the kernel allocates at most 32 KiB for those).
  static constexpr std::size_t kRecvBufferSize = 64 * 1024;

  explicit NlSocket(MnlPtr nl);
  // Sends nlh with a fresh sequence number, then feeds each reply carrying it to `on_reply`
  // until that returns a final status.
  OsStatus exchange(nlmsghdr* nlh, const std::string& what,
                    const std::function<std::optional<OsStatus>(const nlmsghdr*)>& on_reply);

  MnlPtr nl_;
  unsigned portid_;
  unsigned seq_;
  std::unique_ptr<std::uint8_t[]> buf_;
};

}  // namespace m6t::os::netlink
