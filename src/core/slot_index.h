// Building blocks of the gateway's fixed-capacity tables: an open-addressing hash index from a
// keyed hash to a slot number, and intrusive doubly linked lists of slots. Both work on slot
// numbers into a vector the owner allocates once, so the packet path never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace m6t::core {

inline constexpr std::uint32_t kNoSlot = 0xffffffffu;

// Linear probing with backward-shift deletion (no tombstones, so lookups stay short under
// churn). Each cell holds the top 32 bits of the hash and slot + 1; 0 is empty. The table has
// at least twice as many cells as slots: load factor <= 0.5.
class SlotIndex {
 public:
  explicit SlotIndex(std::uint32_t max_slots);

  template <class Match>
  std::optional<std::uint32_t> find(std::uint64_t hash, Match&& match) const {
    std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t pos = tag & mask_;; pos = (pos + 1) & mask_) {
      std::uint64_t cell = cells_[pos];
      if (cell == 0) return std::nullopt;
      if (static_cast<std::uint32_t>(cell >> 32) == tag) {
        auto slot = static_cast<std::uint32_t>(cell) - 1;
        if (match(slot)) return slot;
      }
    }
  }
  // Where find() starts for `hash`, brought into the cache ahead of the lookup.
  void prefetch(std::uint64_t hash) const {
    __builtin_prefetch(&cells_[static_cast<std::uint32_t>(hash >> 32) & mask_]);
  }
  // The first slot whose tag matches (no key compared): what find() will most likely
  // return, for prefetching its entry.
  std::optional<std::uint32_t> first_candidate(std::uint64_t hash) const {
    std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t pos = tag & mask_;; pos = (pos + 1) & mask_) {
      std::uint64_t cell = cells_[pos];
      if (cell == 0) return std::nullopt;
      if (static_cast<std::uint32_t>(cell >> 32) == tag)
        return static_cast<std::uint32_t>(cell) - 1;
    }
  }
  void insert(std::uint64_t hash, std::uint32_t slot);
  void erase(std::uint64_t hash, std::uint32_t slot);
  std::size_t memory_bytes() const { return cells_.size() * sizeof(std::uint64_t); }

 private:
  std::vector<std::uint64_t> cells_;
  std::size_t mask_;
};

struct Links {
  std::uint32_t prev = kNoSlot;
  std::uint32_t next = kNoSlot;
};

// A FIFO of slots threaded through `Entry::*Member`. Pushing at the back with a monotonic
// time keeps the list sorted by that time, which is what makes expiry O(1); insert_after puts
// back an entry whose time is older than the back's.
template <class Entry, Links Entry::*Member>
class SlotList {
 public:
  std::uint32_t front() const { return head_; }
  std::uint32_t back() const { return tail_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push_back(std::vector<Entry>& v, std::uint32_t i) {
    Links& l = v[i].*Member;
    l.prev = tail_;
    l.next = kNoSlot;
    if (tail_ != kNoSlot)
      (v[tail_].*Member).next = i;
    else
      head_ = i;
    tail_ = i;
    ++size_;
  }

  void remove(std::vector<Entry>& v, std::uint32_t i) {
    Links& l = v[i].*Member;
    if (l.prev != kNoSlot)
      (v[l.prev].*Member).next = l.next;
    else
      head_ = l.next;
    if (l.next != kNoSlot)
      (v[l.next].*Member).prev = l.prev;
    else
      tail_ = l.prev;
    l = Links{};
    --size_;
  }

  // Links `i` (in no list) right after `after`, or at the front when `after` is kNoSlot.
  void insert_after(std::vector<Entry>& v, std::uint32_t after, std::uint32_t i) {
    Links& l = v[i].*Member;
    l.prev = after;
    l.next = after == kNoSlot ? head_ : (v[after].*Member).next;
    if (l.next != kNoSlot)
      (v[l.next].*Member).prev = i;
    else
      tail_ = i;
    if (after != kNoSlot)
      (v[after].*Member).next = i;
    else
      head_ = i;
    ++size_;
  }

  void move_to_back(std::vector<Entry>& v, std::uint32_t i) {
    if (tail_ == i) return;
    remove(v, i);
    push_back(v, i);
  }

 private:
  std::uint32_t head_ = kNoSlot;
  std::uint32_t tail_ = kNoSlot;
  std::size_t size_ = 0;
};

}  // namespace m6t::core
