#include "app/drop_report.h"

namespace m6t::app {

std::string DropReport::summary(std::uint64_t n, core::Drop d,
                                const std::optional<core::Endpoint4>& last_from) {
  std::string line = std::to_string(n) + (n == 1 ? " packet dropped: " : " packets dropped: ") +
                     std::string(core::describe(d));
  if (last_from) line += ", last from " + last_from->to_string();
  return line;
}

int DropReport::report(const core::DropCounters& counters, core::Time now, const Logger& log) {
  if (!due_ || now < *due_) return 0;
  return flush(counters, now, log);
}

int DropReport::flush(const core::DropCounters& counters, core::Time now, const Logger& log) {
  int lines = 0;
  for (std::size_t i = 0; i < core::kDropCount; ++i) {
    auto d = static_cast<core::Drop>(i);
    std::uint64_t n = counters[d] - reported_[i];
    if (n == 0) continue;
    reported_[i] = counters[d];
    // A few drops are routine (a late packet after a move); bursts deserve attention. The
    // host's own link-scoped chatter (MLD on the TUN device) is nobody's doing: debug only.
    LogLevel level = d == core::Drop::kDstInvalid ? LogLevel::kDebug
                     : n >= 100                   ? LogLevel::kWarn
                                                  : LogLevel::kInfo;
    if (!log.enabled(level)) continue;
    log.write(level, summary(n, d, last_from_[i]));
    ++lines;
  }
  last_report_ = now;
  due_.reset();
  return lines;
}

}  // namespace m6t::app
