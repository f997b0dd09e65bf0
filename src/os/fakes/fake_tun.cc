#include "os/fakes/fake_tun.h"

#include <algorithm>

namespace m6t::os {

FakeTun::FakeTun(std::string name, int ifindex) : name_(std::move(name)), ifindex_(ifindex) {}

std::size_t FakeTun::read_batch(std::span<PacketSlot> slots) {
  std::size_t count = 0;
  while (count < slots.size() && !inbound_.empty()) {
    PacketSlot& slot = slots[count];
    const std::vector<std::uint8_t>& packet = inbound_.front();
    slot.len = std::min(packet.size(), slot.capacity);
    slot.truncated = packet.size() > slot.capacity;
    std::copy_n(packet.begin(), slot.len, slot.data);
    slot.remote = {};
    slot.local = {};
    inbound_.pop_front();
    ++count;
  }
  return count;
}

bool FakeTun::write(std::span<const std::uint8_t> packet) {
  written.emplace_back(packet.begin(), packet.end());
  return true;
}

}  // namespace m6t::os
