#include "app/hook.h"

#include <sys/wait.h>

#include <chrono>

namespace m6t::app {

std::vector<std::string> hook_environment(const core::ClientEvent& e, const HookContext& ctx) {
  auto addr = [](const std::optional<core::Ipv6Addr>& a) {
    return a ? a->to_string() : std::string();
  };
  return {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "M6T_STATE=" + std::string(core::to_string(e.change)),
      "M6T_REASON=" + std::string(core::to_string(e.reason)),
      "M6T_INTERFACE=" + ctx.interface,
      "M6T_ADDRESS=" + addr(e.address),
      "M6T_OLD_ADDRESS=" + addr(e.old_address),
      "M6T_MTU=" + std::to_string(ctx.mtu),
      "M6T_PREFIX=" + ctx.prefix.to_string(),
      "M6T_GATEWAY=" + (e.address ? e.gateway.to_string() : std::string()),
      "M6T_UPLINK=" + ctx.uplink,
      "M6T_IPV4_ADDRESS=" + (ctx.ipv4.connected ? ctx.ipv4.address.to_string() : std::string()),
  };
}

void Hook::notify(const core::ClientEvent& e, const HookContext& ctx, core::Time now) {
  if (queue_.size() >= kMaxQueued) {
    // A script stuck far behind the tunnel is worse than one that skips a state it would
    // have seen superseded anyway: the newest runs carry the current state.
    queue_.pop_front();
    ++counters_.dropped;
    log_.warn("hook ", path_, ": ", kMaxQueued, " runs waiting, the oldest discarded");
  }
  queue_.push_back({std::string(core::to_string(e.change)), hook_environment(e, ctx)});
  if (!pid_) start_next(now);
}

void Hook::start_next(core::Time now) {
  while (!pid_ && !queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++counters_.started;
    auto pid = runner_.spawn({path_, {job.state}, std::move(job.env)});
    if (!pid) {
      ++counters_.failed;
      log_.error("hook: ", pid.error());
      continue;
    }
    pid_ = *pid;
    running_state_ = job.state;
    started_at_ = now;
    killed_ = false;
  }
}

void Hook::finished(int wait_status, bool timed_out, core::Time now) {
  pid_.reset();
  bool ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  if (ok) {
    ++counters_.succeeded;
    log_.debug("hook ", path_, " ", running_state_, ": done");
  } else {
    ++counters_.failed;
    if (timed_out) {
      ++counters_.timed_out;
      log_.warn("hook ", path_, " ", running_state_, ": still running after ",
                std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count(),
                " ms, killed");
    } else {
      log_.warn("hook ", path_, " ", running_state_, ": ", os::describe_wait_status(wait_status));
    }
  }
  start_next(now);
}

void Hook::on_child_exit(core::Time now) {
  if (!pid_) return;
  if (auto st = runner_.reap(*pid_)) finished(*st, killed_, now);
}

void Hook::on_timer(core::Time now) {
  if (!pid_ || killed_ || now < started_at_ + timeout_) return;
  runner_.kill(*pid_);
  killed_ = true;
  // Reaped on the SIGCHLD that follows; should it never come, reap here.
  if (auto st = runner_.reap(*pid_)) finished(*st, true, now);
}

core::Deadline Hook::next_deadline() const {
  if (!pid_ || killed_) return std::nullopt;
  return started_at_ + timeout_;
}

void Hook::drain() {
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_);
  core::Time now{};  // times no longer matter: each run gets its whole timeout
  while (pid_) {
    std::optional<int> st =
        killed_ ? runner_.wait(*pid_, std::chrono::milliseconds(1000)) : runner_.wait(*pid_, limit);
    if (!st && !killed_) {
      runner_.kill(*pid_);
      killed_ = true;
      st = runner_.wait(*pid_, std::chrono::milliseconds(1000));
    }
    if (!st) {  // unkillable (D state): give up rather than hang the shutdown
      log_.error("hook ", path_, ": pid ", *pid_, " did not exit after SIGKILL");
      pid_.reset();
      break;
    }
    finished(*st, killed_, now);
  }
}

}  // namespace m6t::app
