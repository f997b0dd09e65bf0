// Child processes for hooks: started without blocking the daemon, watched through
// SIGCHLD, killed when they overrun. The daemon never waits on a child except at shutdown.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "os/result.h"

namespace m6t::os {

struct SpawnRequest {
  std::string path;
  std::vector<std::string> args;  // argv[1..]
  std::vector<std::string> env;   // "NAME=value"; the child gets exactly these
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Starts the program in a process group of its own with stdin on /dev/null, stdout and
  // stderr on the daemon's stderr, no blocked signals and default dispositions. Returns the
  // pid.
  virtual OsResult<int> spawn(const SpawnRequest& request) = 0;
  // The child's wait status once it has exited (it is reaped then); nullopt while it runs.
  virtual std::optional<int> reap(int pid) = 0;
  // Blocks up to `timeout` for the child to exit; its wait status, or nullopt.
  virtual std::optional<int> wait(int pid, std::chrono::milliseconds timeout) = 0;
  // SIGKILL to the child's whole process group (a hook's own children included).
  virtual void kill(int pid) = 0;
};

std::unique_ptr<ProcessRunner> make_process_runner();

// "exit status 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace m6t::os
