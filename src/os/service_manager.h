// The service manager (systemd's notification protocol, through libsystemd) and the system's
// logs (the journal through libsystemd, syslog(3)). Outside systemd every notification is a
// no-op, so a daemon started by hand behaves as before.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace m6t::os {

// sd_notify(3): READY=1, STATUS=..., RELOADING=1, STOPPING=1, WATCHDOG=1. Returns whether a
// service manager took it (false without NOTIFY_SOCKET).
bool notify(std::string_view state);
// The watchdog interval systemd expects a WATCHDOG=1 within (WatchdogSec=), or nullopt.
std::optional<std::chrono::microseconds> watchdog_interval();

// Whether stderr is connected to the journal (systemd sets JOURNAL_STREAM to its device and
// inode), as systemd.exec(5) says a program should decide to log natively.
bool stderr_is_journal();
// One entry in the journal: MESSAGE, PRIORITY (syslog's numbers), SYSLOG_IDENTIFIER=m6t and
// M6T_ROLE.
void journal_write(int priority, std::string_view role, std::string_view message);
// syslog(3) with LOG_DAEMON, identifier "m6t-ROLE" and the pid.
void syslog_write(int priority, std::string_view role, std::string_view message);

}  // namespace m6t::os
