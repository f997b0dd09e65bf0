#include "app/drop_report.h"

namespace m6t::app {

void DropReport::report(const core::DropCounters& counters, core::Time now, const Logger& log) {
  if (!due_ || now < *due_) return;
  for (std::size_t i = 0; i < core::kDropCount; ++i) {
    auto d = static_cast<core::Drop>(i);
    std::uint64_t n = counters[d] - reported_[i];
    if (n == 0) continue;
    reported_[i] = counters[d];
    std::string from = last_from_[i] ? " (last from " + last_from_[i]->to_string() + ")" : "";
    // A few drops are routine (a late packet after a move); bursts deserve attention.
    log.write(n >= 100 ? LogLevel::kWarn : LogLevel::kInfo,
              "dropped " + std::to_string(n) + (n == 1 ? " packet: " : " packets: ") +
                  std::string(core::describe(d)) + from);
  }
  last_report_ = now;
  due_.reset();
}

}  // namespace m6t::app
