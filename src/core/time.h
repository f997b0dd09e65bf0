// Time as the core sees it: a point on a monotonic clock, always passed in by the caller.
// The core never reads a clock (so every timer rule is testable with a fake one).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace m6t::core {

// A monotonic clock the core cannot read: it only names the type of time points. The OS layer
// fills them from CLOCK_MONOTONIC; tests fill them from a counter.
struct MonoClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<MonoClock>;
  static constexpr bool is_steady = true;
};

using Duration = MonoClock::duration;
using Time = MonoClock::time_point;
using Deadline = std::optional<Time>;

inline constexpr Time kTimeZero{};

// Earliest of two optional deadlines.
constexpr Deadline earliest(Deadline a, Deadline b) {
  if (!a) return b;
  if (!b) return a;
  return *a < *b ? a : b;
}

// Milliseconds between two time points, for reports (saturating at zero).
constexpr std::int64_t ms_between(Time from, Time to) {
  if (to <= from) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace m6t::core
