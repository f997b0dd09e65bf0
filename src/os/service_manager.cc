#include "os/service_manager.h"

#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace m6t::os {

bool notify(std::string_view state) {
  const std::string s(state);
  return sd_notify(0, s.c_str()) > 0;
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

bool stderr_is_journal() {
  const char* v = std::getenv("JOURNAL_STREAM");
  if (!v) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(v, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void journal_write(int priority, std::string_view role, std::string_view message) {
  sd_journal_send("MESSAGE=%.*s", static_cast<int>(message.size()), message.data(), "PRIORITY=%d",
                  priority, "SYSLOG_IDENTIFIER=m6t", "M6T_ROLE=%.*s", static_cast<int>(role.size()),
                  role.data(), nullptr);
}

void syslog_write(int priority, std::string_view role, std::string_view message) {
  // openlog keeps the pointer: the identifier must outlive every later call.
  static std::string ident;
  if (ident.empty()) {
    ident = "m6t-" + std::string(role);
    openlog(ident.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
  }
  syslog(priority, "%.*s", static_cast<int>(message.size()), message.data());
}

}  // namespace m6t::os
