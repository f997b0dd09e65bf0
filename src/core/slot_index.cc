#include "core/slot_index.h"

#include <bit>

namespace m6t::core {

SlotIndex::SlotIndex(std::uint32_t max_slots)
    : cells_(std::bit_ceil(std::size_t{max_slots} * 2 < 16 ? 16 : std::size_t{max_slots} * 2)),
      mask_(cells_.size() - 1) {}

void SlotIndex::insert(std::uint64_t hash, std::uint32_t slot) {
  std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
  std::size_t pos = tag & mask_;
  while (cells_[pos] != 0)
    pos = (pos + 1) & mask_;
  cells_[pos] = (std::uint64_t{tag} << 32) | (std::uint64_t{slot} + 1);
}

void SlotIndex::erase(std::uint64_t hash, std::uint32_t slot) {
  std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
  std::uint64_t want = (std::uint64_t{tag} << 32) | (std::uint64_t{slot} + 1);
  std::size_t hole = tag & mask_;
  while (cells_[hole] != want) {
    if (cells_[hole] == 0) return;  // not present
    hole = (hole + 1) & mask_;
  }
  // Backward shift: move later members of the probe run into the hole when their home
  // position does not lie cyclically in (hole, pos].
  for (std::size_t pos = (hole + 1) & mask_; cells_[pos] != 0; pos = (pos + 1) & mask_) {
    std::size_t home = static_cast<std::uint32_t>(cells_[pos] >> 32) & mask_;
    bool home_in_range = hole <= pos ? (hole < home && home <= pos) : (hole < home || home <= pos);
    if (!home_in_range) {
      cells_[hole] = cells_[pos];
      hole = pos;
    }
  }
  cells_[hole] = 0;
}

}  // namespace m6t::core
