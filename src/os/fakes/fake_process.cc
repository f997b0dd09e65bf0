#include "os/fakes/fake_process.h"

#include <csignal>

namespace m6t::os {

OsResult<int> FakeProcessRunner::spawn(const SpawnRequest& request) {
  if (fail_spawn) return OsError{"run " + request.path + ": Permission denied"};
  spawned.push_back(request);
  return next_pid_++;
}

std::optional<int> FakeProcessRunner::reap(int pid) {
  auto it = exited_.find(pid);
  if (it == exited_.end()) return std::nullopt;
  int st = it->second;
  exited_.erase(it);
  return st;
}

std::optional<int> FakeProcessRunner::wait(int pid, std::chrono::milliseconds) {
  if (exit_on_wait && !exited_.count(pid)) exited_[pid] = *exit_on_wait;
  return reap(pid);
}

void FakeProcessRunner::kill(int pid) {
  killed.push_back(pid);
  exited_[pid] = SIGKILL;  // a wait status of "killed by SIGKILL"
}

}  // namespace m6t::os
