// Rate-limited drop logging (hardening: "no log floods"): whatever an attacker sends, the log
// gets at most one summary line per drop reason per interval, e.g. "1523 packets dropped:
// source outside the MN prefix, last from 198.51.100.7:4500". The first drop after a quiet
// period is reported at once (an operator sees an attack start); after that, what follows is
// summed up one interval after the previous report. Log lines per hour are therefore bounded by
// kDropCount * (3600 s / interval + 1) however many packets arrive.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "app/logger.h"
#include "core/address.h"
#include "core/drop.h"
#include "core/time.h"

namespace m6t::app {

class DropReport {
 public:
  explicit DropReport(core::Duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // On every drop: cheap (no formatting, no allocation).
  void note(core::Drop d, core::Time now, std::optional<core::Endpoint4> from = std::nullopt) {
    last_from_[static_cast<std::size_t>(d)] = from;
    if (!due_) due_ = last_report_ ? std::max(now, *last_report_ + interval_) : now;
  }
  core::Deadline next_deadline() const { return due_; }
  // Logs what changed since the last report, when due: one line per reason. Returns the number
  // of lines written.
  int report(const core::DropCounters& counters, core::Time now, const Logger& log);
  // At shutdown: whatever is still unreported, due or not (the last interval's drops would be
  // lost otherwise).
  int flush(const core::DropCounters& counters, core::Time now, const Logger& log);

  // The summary line of n drops for one reason.
  static std::string summary(std::uint64_t n, core::Drop d,
                             const std::optional<core::Endpoint4>& last_from);

 private:
  core::Duration interval_;
  core::Deadline due_;
  std::optional<core::Time> last_report_;
  std::array<std::uint64_t, core::kDropCount> reported_{};
  std::array<std::optional<core::Endpoint4>, core::kDropCount> last_from_{};
};

}  // namespace m6t::app
