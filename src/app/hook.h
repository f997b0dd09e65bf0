// The client's hook (mobility, as miredo's client-hook and OpenVPN's --up): a program run on
// every change of the tunnel address, so that an MIPv6 daemon, a firewall or a script can react.
// Hooks run one at a time and in order (a script never sees "down" before the "up" it
// follows), never block the tunnel, and are killed when they overrun their timeout.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "app/logger.h"
#include "core/client_engine.h"
#include "core/time.h"
#include "os/process.h"

namespace m6t::app {

// What the hook's environment says besides the event itself.
struct HookContext {
  std::string interface;  // the TUN device
  std::uint32_t mtu = 0;
  core::Ipv6Prefix prefix;
  std::string uplink;  // the IPv4 interface, empty when chosen by the default route
  core::Uplink ipv4;
};

// M6T_STATE (up, down, changed), M6T_REASON, M6T_INTERFACE, M6T_ADDRESS, M6T_OLD_ADDRESS,
// M6T_MTU, M6T_PREFIX, M6T_GATEWAY, M6T_UPLINK, M6T_IPV4_ADDRESS and a fixed PATH. Absent
// values are empty strings, so that a script can test them without `set -u` trouble.
std::vector<std::string> hook_environment(const core::ClientEvent& e, const HookContext& ctx);

struct HookCounters {
  std::uint64_t started = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;     // non-zero exit, killed by a signal, or could not start
  std::uint64_t timed_out = 0;  // killed after the timeout (also counted in failed)
  std::uint64_t dropped = 0;    // queue full: the oldest waiting run was discarded
};

class Hook {
 public:
  static constexpr std::size_t kMaxQueued = 16;

  Hook(std::string path, core::Duration timeout, os::ProcessRunner& runner, const Logger& log)
      : path_(std::move(path)), timeout_(timeout), runner_(runner), log_(log) {}

  void notify(const core::ClientEvent& e, const HookContext& ctx, core::Time now);
  // A child may have exited (SIGCHLD).
  void on_child_exit(core::Time now);
  // Kills a hook that overran its timeout.
  void on_timer(core::Time now);
  core::Deadline next_deadline() const;
  // At shutdown: lets the running and queued hooks finish, each within its timeout.
  void drain();

  bool running() const { return pid_.has_value(); }
  std::size_t queued() const { return queue_.size(); }
  const HookCounters& counters() const { return counters_; }
  const std::string& path() const { return path_; }

 private:
  struct Job {
    std::string state;
    std::vector<std::string> env;
  };
  void start_next(core::Time now);
  void finished(int wait_status, bool timed_out, core::Time now);

  std::string path_;
  core::Duration timeout_;
  os::ProcessRunner& runner_;
  const Logger& log_;
  std::deque<Job> queue_;
  std::optional<int> pid_;
  std::string running_state_;
  core::Time started_at_{};
  bool killed_ = false;
  HookCounters counters_;
};

}  // namespace m6t::app
