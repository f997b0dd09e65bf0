// Log lines on stderr: "2026-11-28T12:00:00.123Z gateway info: message". Under systemd the
// journal takes them as they are.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace m6t::app {

enum class LogLevel : std::uint8_t { kError, kWarn, kInfo, kDebug };
LogLevel parse_log_level(std::string_view s);

class Logger {
 public:
  Logger(std::string tag, LogLevel level) : tag_(std::move(tag)), level_(level) {}
  bool enabled(LogLevel l) const { return l <= level_; }
  void write(LogLevel l, std::string_view message) const;

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
};

}  // namespace m6t::app
