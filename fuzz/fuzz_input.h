// Reads fuzzer input as a stream of small decisions (never fails: zeros past the end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace m6t::fuzzing {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
  std::uint32_t below(std::uint32_t n) { return n ? u16() % n : 0; }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    std::size_t take = pos_ + n <= size_ ? n : size_ - pos_;
    auto s = std::span(data_ + pos_, take);
    pos_ += take;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace m6t::fuzzing
