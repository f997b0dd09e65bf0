#include "app/logger.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "os/service_manager.h"

namespace m6t::app {

LogLevel parse_log_level(std::string_view s) {
  if (s == "error") return LogLevel::kError;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "debug") return LogLevel::kDebug;
  return LogLevel::kInfo;
}

int syslog_priority(LogLevel l) {
  static constexpr int kPriorities[] = {3, 4, 6, 7};  // LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG
  return kPriorities[static_cast<int>(l)];
}

LogTarget resolve_log_target(std::string_view name) {
  if (name == "journal") return LogTarget::kJournal;
  if (name == "syslog") return LogTarget::kSyslog;
  if (name == "stderr") return LogTarget::kStderr;
  return os::stderr_is_journal() ? LogTarget::kJournal : LogTarget::kStderr;
}

void Logger::write(LogLevel l, std::string_view message) const {
  if (!enabled(l)) return;
  if (target_ == LogTarget::kJournal) return os::journal_write(syslog_priority(l), tag_, message);
  if (target_ == LogTarget::kSyslog) return os::syslog_write(syslog_priority(l), tag_, message);
  static constexpr const char* kNames[] = {"error", "warn", "info", "debug"};
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line: lines from several daemons sharing a log file do not interleave.
  std::fprintf(stderr, "%s.%03dZ %s %s: %.*s\n", stamp, static_cast<int>(ms.count()), tag_.c_str(),
               kNames[static_cast<int>(l)], static_cast<int>(message.size()), message.data());
}

}  // namespace m6t::app
