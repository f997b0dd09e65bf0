// Process runner fake for tests only (never part of the m6t binary).
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "os/process.h"

namespace m6t::os {

// Records requests; a child "runs" until finish(pid, status) is called.
class FakeProcessRunner final : public ProcessRunner {
 public:
  OsResult<int> spawn(const SpawnRequest& request) override;
  std::optional<int> reap(int pid) override;
  std::optional<int> wait(int pid, std::chrono::milliseconds timeout) override;
  void kill(int pid) override;

  void finish(int pid, int wait_status) { exited_[pid] = wait_status; }
  std::vector<SpawnRequest> spawned;
  std::vector<int> killed;
  bool fail_spawn = false;
  // When set, wait() sees the child exit with this status (a hook that ends in time).
  std::optional<int> exit_on_wait;

 private:
  int next_pid_ = 1000;
  std::map<int, int> exited_;
};

}  // namespace m6t::os
