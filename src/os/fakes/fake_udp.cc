#include "os/fakes/fake_udp.h"

#include <algorithm>
#include <utility>

namespace m6t::os {

std::size_t FakeUdp::recv_batch(std::span<PacketSlot> slots) {
  std::size_t count = 0;
  while (count < slots.size() && !inbound_.empty()) {
    PacketSlot& slot = slots[count];
    const Sent& d = inbound_.front();
    slot.len = std::min(d.data.size(), slot.capacity);
    slot.truncated = d.data.size() > slot.capacity;
    std::copy_n(d.data.begin(), slot.len, slot.data);
    slot.remote = d.remote;
    slot.local = local_;
    inbound_.pop_front();
    ++count;
  }
  return count;
}

std::size_t FakeUdp::send_batch(std::span<const SendItem> items) {
  for (const SendItem& item : items) {
    sent.push_back(Sent{{item.data.begin(), item.data.end()}, item.remote, item.local, item.df});
  }
  return items.size();
}

std::vector<IcmpError> FakeUdp::read_errors() {
  return std::exchange(errors_, {});
}

void FakeUdp::inject(std::vector<std::uint8_t> data, core::Endpoint4 remote) {
  inbound_.push_back(Sent{std::move(data), remote, local_});
}

}  // namespace m6t::os
