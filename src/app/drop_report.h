// Rate-limited drop logging: whatever an attacker sends, the log gets at most one summary line
// per drop reason per interval, e.g. "dropped 1523 packets: source outside the MN prefix (last
// from 198.51.100.9:1234)".
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
    if (!due_) due_ = std::max(now, last_report_ + interval_);
  }
  core::Deadline next_deadline() const { return due_; }
  // Logs what changed since the last report, when due.
  void report(const core::DropCounters& counters, core::Time now, const Logger& log);

 private:
  core::Duration interval_;
  core::Deadline due_;
  core::Time last_report_{};
  std::array<std::uint64_t, core::kDropCount> reported_{};
  std::array<std::optional<core::Endpoint4>, core::kDropCount> last_from_{};
};

}  // namespace m6t::app
