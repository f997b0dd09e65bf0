// Small helpers shared by the OS-layer tests.
#pragma once

#include <poll.h>

#include <string>

namespace m6t::os::testing {

// Waits up to timeout_ms for fd to report `events`; true when it did.
inline bool wait_for(int fd, short events = POLLIN, int timeout_ms = 2000) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) > 0 && (p.revents & (events | POLLERR)) != 0;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace m6t::os::testing
