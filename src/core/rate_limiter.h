// §6.1.3: "Creation of such states should also be rate-limited on a per IPv4 address basis
// (not considering the source port)". One token bucket per IPv4 address, kept as a GCRA
// "theoretical arrival time" (one time point per address, exact integer arithmetic).
#pragma once

#include <cstdint>
#include <vector>

#include "core/address.h"
#include "core/gcra.h"
#include "core/siphash.h"
#include "core/slot_index.h"
#include "core/time.h"

namespace m6t::core {

struct RateLimitConfig {
  double rate_per_s = 10;    // sustained state creations per second per IPv4 address
  std::uint32_t burst = 20;  // creations allowed at once
  // Addresses tracked at once. An address whose bucket has refilled is forgotten (its entry
  // is indistinguishable from a new one); when the table is full of addresses still limited,
  // the least recently seen is forgotten (counted in evictions()). Only an attacker holding
  // more addresses than this can gain from that, and such an attacker already has a burst per
  // address: the caps on states are what bound it.
  std::uint32_t max_addresses = 65536;
};

class RateLimiter {
 public:
  RateLimiter(const RateLimitConfig& config, const SipKey& key);

  // Takes one token for `addr` at `now`; false when its bucket is empty.
  bool allow(Ipv4Addr addr, Time now);

  // A reload: the new rate and burst apply to every address from its next packet on (each
  // bucket keeps its theoretical arrival time). max_addresses stays (sized at start).
  void reconfigure(const RateLimitConfig& config);

  std::size_t size() const { return lru_.size(); }
  std::uint64_t evictions() const { return evictions_; }
  std::size_t memory_bytes() const;

 private:
  struct Entry {
    Ipv4Addr addr;
    Gcra bucket;
    Time seen;  // last allow() for this address: orders the LRU list
    Links lru;
  };

  std::uint64_t hash(Ipv4Addr a) const;
  void forget(std::uint32_t slot);

  BucketShape shape_;
  std::uint32_t max_;
  SipKey key_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> free_;
  SlotIndex index_;
  SlotList<Entry, &Entry::lru> lru_;
  std::uint64_t evictions_ = 0;
};

}  // namespace m6t::core
