// Small helpers shared by the OS-layer tests.
#pragma once

#include <poll.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace m6t::os::testing {

// Waits up to timeout_ms for fd to report `events`; true when it did.
inline bool wait_for(int fd, short events = POLLIN, int timeout_ms = 2000) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) > 0 && (p.revents & (events | POLLERR)) != 0;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// CI=true: the run must prove everything, so a missing precondition is a failure there.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace m6t::os::testing

// A test whose precondition (root, a namespace, a tool) is missing: skipped on a developer's
// machine, failed with the reason under CI=true (a skip must never pass for a success there).
#define M6T_PRECONDITION_MISSING(why)                                                      \
  do {                                                                                     \
    if (::m6t::os::testing::in_ci()) FAIL() << "precondition missing under CI: " << (why); \
    GTEST_SKIP() << (why);                                                                 \
  } while (0)
