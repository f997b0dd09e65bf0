// One token bucket, kept as a GCRA theoretical arrival time: exact, one time point of state.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/time.h"

namespace m6t::core {

struct BucketShape {
  Duration interval;   // time to earn one token
  Duration tolerance;  // (burst - 1) * interval

  static BucketShape of(double rate_per_s, std::uint32_t burst) {
    Duration interval(static_cast<Duration::rep>(std::llround(1e9 / rate_per_s)));
    return {interval, interval * (std::max<std::uint32_t>(burst, 1) - 1)};
  }
  // An untouched bucket is full again after this long.
  Duration refill() const { return tolerance + interval; }
};

struct Gcra {
  Time tat{};  // the bucket is full again at tat

  bool allow(const BucketShape& shape, Time now) {
    if (tat - now > shape.tolerance) return false;
    tat = std::max(tat, now) + shape.interval;
    return true;
  }
};

}  // namespace m6t::core
