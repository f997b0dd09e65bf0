#include "os/tun.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "os/unique_fd.h"

namespace m6t::os {
namespace {

class LinuxTun final : public TunDevice {
 public:
  LinuxTun(UniqueFd fd, std::string name, int ifindex)
      : fd_(std::move(fd)), name_(std::move(name)), ifindex_(ifindex) {}
  int fd() const override { return fd_.get(); }
  const std::string& name() const override { return name_; }
  int ifindex() const override { return ifindex_; }

  std::size_t read_batch(std::span<PacketSlot> slots) override {
    std::size_t count = 0;
    while (count < slots.size()) {
      PacketSlot& slot = slots[count];
      const ssize_t n = ::read(fd_.get(), slot.data, slot.capacity);
      if (n < 0) {
        if (errno == EINTR) continue;
        // EAGAIN: drained. Anything else (EIO while the link goes away, EFAULT) would repeat
        // on the next read as well, so the batch ends there too.
        break;
      }
      // The TUN driver reports the packet's full length even when it had to cut it to fit
      // the buffer; with slots of kBufferSize (> any MTU) this never happens.
      const auto len = static_cast<std::size_t>(n);
      slot.truncated = len > slot.capacity;
      slot.len = std::min(len, slot.capacity);
      slot.remote = {};
      slot.local = {};
      ++count;
    }
    return count;
  }

  bool write(std::span<const std::uint8_t> packet) override {
    for (;;) {
      const ssize_t n = ::write(fd_.get(), packet.data(), packet.size());
      if (n < 0 && errno == EINTR) continue;
      return n >= 0 && static_cast<std::size_t>(n) == packet.size();
    }
  }

 private:
  UniqueFd fd_;
  std::string name_;
  int ifindex_;
};

}  // namespace

OsResult<std::unique_ptr<TunDevice>> open_tun(const std::string& name) {
  if (name.size() >= IFNAMSIZ) {
    return OsError{"tun " + name + ": name longer than " + std::to_string(IFNAMSIZ - 1) +
                   " characters"};
  }
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("open /dev/net/tun");

  ifreq ifr{};
  // IFF_NO_PI: the packet starts at the IPv6 header, as it travels in the UDP payload.
  // Not IFF_MULTI_QUEUE/TUNSETPERSIST: the device lives exactly as long as the daemon.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    return errno_error("TUNSETIFF " + (name.empty() ? std::string("(any)") : name));
  }
  std::string actual(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  const unsigned index = ::if_nametoindex(actual.c_str());
  if (index == 0) return errno_error("if_nametoindex " + actual);
  return std::unique_ptr<TunDevice>(
      new LinuxTun(std::move(fd), std::move(actual), static_cast<int>(index)));
}

}  // namespace m6t::os
