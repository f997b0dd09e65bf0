// A TUN device (IFF_TUN | IFF_NO_PI): raw IPv6 packets in and out.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "os/packet_buffer.h"
#include "os/result.h"

namespace m6t::os {

class TunDevice {
 public:
  virtual ~TunDevice() = default;
  virtual int fd() const = 0;  // readable when packets wait (for epoll); -1 for fakes
  virtual const std::string& name() const = 0;
  virtual int ifindex() const = 0;
  // Reads up to slots.size() packets without blocking; returns how many were read.
  virtual std::size_t read_batch(std::span<PacketSlot> slots) = 0;
  // Writes one packet; false when the kernel refused it (counted by the caller).
  virtual bool write(std::span<const std::uint8_t> packet) = 0;
};

// Creates (or attaches to) the TUN device `name` (empty: kernel picks "tunN"), non-blocking.
// The device disappears when the returned object is destroyed (it is not made persistent).
OsResult<std::unique_ptr<TunDevice>> open_tun(const std::string& name);

}  // namespace m6t::os
