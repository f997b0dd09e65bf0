#include "core/rate_limiter.h"

#include <algorithm>

namespace m6t::core {

RateLimiter::RateLimiter(const RateLimitConfig& config, const SipKey& key)
    : shape_(BucketShape::of(config.rate_per_s, config.burst)),
      max_(std::max<std::uint32_t>(config.max_addresses, 1)),
      key_(key),
      index_(max_) {
  entries_.reserve(max_);
  free_.reserve(max_);
}

std::uint64_t RateLimiter::hash(Ipv4Addr a) const {
  auto b = a.bytes();
  return siphash24(key_, b);
}

void RateLimiter::forget(std::uint32_t slot) {
  index_.erase(hash(entries_[slot].addr), slot);
  lru_.remove(entries_, slot);
  free_.push_back(slot);
}

bool RateLimiter::allow(Ipv4Addr addr, Time now) {
  // Addresses unseen for a whole refill period have full buckets: forget them.
  while (!lru_.empty() && entries_[lru_.front()].seen + shape_.refill() <= now)
    forget(lru_.front());

  std::uint64_t h = hash(addr);
  auto found = index_.find(h, [&](std::uint32_t s) { return entries_[s].addr == addr; });
  std::uint32_t slot;
  if (found) {
    slot = *found;
  } else {
    if (lru_.size() >= max_) {
      forget(lru_.front());
      ++evictions_;
    }
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(entries_.size());
      entries_.push_back({});
    }
    entries_[slot] = Entry{addr, Gcra{now}, now, {}};
    index_.insert(h, slot);
    lru_.push_back(entries_, slot);
  }
  Entry& e = entries_[slot];
  e.seen = now;
  lru_.move_to_back(entries_, slot);
  return e.bucket.allow(shape_, now);
}

std::size_t RateLimiter::memory_bytes() const {
  return entries_.capacity() * sizeof(Entry) + free_.capacity() * sizeof(std::uint32_t) +
         index_.memory_bytes();
}

void RateLimiter::reconfigure(const RateLimitConfig& config) {
  shape_ = BucketShape::of(config.rate_per_s, config.burst);
}

}  // namespace m6t::core
