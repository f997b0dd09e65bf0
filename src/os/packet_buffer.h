// Preallocated packet buffers for batched I/O: the data path never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/address.h"

namespace m6t::os {

inline constexpr std::size_t kBatchSize = 64;
inline constexpr std::size_t kBufferSize = 65536;

// One received or to-be-sent datagram or packet.
struct PacketSlot {
  std::uint8_t* data = nullptr;
  std::size_t capacity = 0;
  std::size_t len = 0;
  bool truncated = false;     // the datagram did not fit (MSG_TRUNC): never pass it on
  core::Endpoint4 remote;     // UDP: the peer
  core::Endpoint4 local;      // UDP: our address and port it arrived at / leaves from
  std::uint32_t ifindex = 0;  // UDP: the interface it arrived on (IP_PKTINFO), 0 if unknown
  std::span<std::uint8_t> bytes() const { return {data, len}; }
};

// `count` slots of `size` bytes each, allocated once.
class PacketBatch {
 public:
  explicit PacketBatch(std::size_t count = kBatchSize, std::size_t size = kBufferSize)
      : storage_(new std::uint8_t[count * size]), slots_(new PacketSlot[count]), count_(count) {
    for (std::size_t i = 0; i < count; ++i) {
      slots_[i].data = storage_.get() + i * size;
      slots_[i].capacity = size;
    }
  }
  std::span<PacketSlot> slots() { return {slots_.get(), count_}; }
  std::size_t size() const { return count_; }

 private:
  std::unique_ptr<std::uint8_t[]> storage_;
  std::unique_ptr<PacketSlot[]> slots_;
  std::size_t count_;
};

}  // namespace m6t::os
