// In-memory TUN device for tests and fuzz targets only (never part of the m6t binary).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "os/tun.h"

namespace m6t::os {

// What the daemon writes lands in `written`; `inject` queues
// packets for the daemon to read.
class FakeTun final : public TunDevice {
 public:
  explicit FakeTun(std::string name = "fake0", int ifindex = 42);
  int fd() const override { return -1; }
  const std::string& name() const override { return name_; }
  int ifindex() const override { return ifindex_; }
  std::size_t read_batch(std::span<PacketSlot> slots) override;
  bool write(std::span<const std::uint8_t> packet) override;

  void inject(std::vector<std::uint8_t> packet) { inbound_.push_back(std::move(packet)); }
  std::vector<std::vector<std::uint8_t>> written;

 private:
  std::string name_;
  int ifindex_;
  std::deque<std::vector<std::uint8_t>> inbound_;
};

}  // namespace m6t::os
