// Log lines, to one of three targets (--log-target):
//  - stderr: "2026-11-28T12:00:00.123Z gateway info: message";
//  - journal: one entry per line with its PRIORITY (syslog's numbers), SYSLOG_IDENTIFIER=m6t
//    and M6T_ROLE; chosen by itself when stderr is the journal (under systemd);
//  - syslog: syslog(3), facility daemon, identifier m6t-ROLE.
// Levels map to priorities journald and syslog understand: error 3, warn 4, info 6, debug 7.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace m6t::app {

enum class LogLevel : std::uint8_t { kError, kWarn, kInfo, kDebug };
LogLevel parse_log_level(std::string_view s);
int syslog_priority(LogLevel l);

enum class LogTarget : std::uint8_t { kStderr, kJournal, kSyslog };
// "auto" is the journal when stderr is connected to it, stderr otherwise.
LogTarget resolve_log_target(std::string_view name);

class Logger {
 public:
  Logger(std::string tag, LogLevel level, LogTarget target = LogTarget::kStderr)
      : tag_(std::move(tag)), level_(level), target_(target) {}
  bool enabled(LogLevel l) const { return l <= level_; }
  // A reload may change the level (the target stays: it is chosen at start).
  void set_level(LogLevel l) { level_ = l; }
  LogTarget target() const { return target_; }
  void write(LogLevel l, std::string_view message) const;

  // At a level chosen at run time (a failover is a warning, a plain change is not).
  template <class... Args>
  void at(LogLevel l, const Args&... args) const {
    emit(l, args...);
  }
  template <class... Args>
  void error(const Args&... args) const {
    emit(LogLevel::kError, args...);
  }
  template <class... Args>
  void warn(const Args&... args) const {
    emit(LogLevel::kWarn, args...);
  }
  template <class... Args>
  void info(const Args&... args) const {
    emit(LogLevel::kInfo, args...);
  }
  template <class... Args>
  void debug(const Args&... args) const {
    emit(LogLevel::kDebug, args...);
  }

 private:
  template <class... Args>
  void emit(LogLevel l, const Args&... args) const {
    if (!enabled(l)) return;
    std::ostringstream o;
    (o << ... << args);
    write(l, o.str());
  }
  std::string tag_;
  LogLevel level_;
  LogTarget target_;
};

}  // namespace m6t::app
