// The gateway's saved active states on disk (--state-dir; the format is core/state_file.h's):
// DIR/gateway-TUN.state, mode 0600 in a 0700 directory, replaced atomically at each save.
//
// Saves are encoded on the loop (a copy of the active states: 48 bytes each, without asking
// the fast path about each) and written by a thread of their own, so that the write and its
// fsync never hold up packets; the stop's last save is written before the daemon exits. The thread
// only writes files: it takes no state of the engine, no lock the loop holds while it forwards, and
// logs nothing (the loop reports its errors, once per kind of failure).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/state_file.h"
#include "os/result.h"

namespace m6t::app {

class StateStore {
 public:
  // An empty `dir` disables saving and restoring (enabled() is false).
  StateStore(std::string dir, const std::string& tun);
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;
  ~StateStore();

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }

  // The saved snapshot, or the one line that says why there is none (missing, unreadable,
  // or which check the file failed).
  std::variant<core::StateSnapshot, std::string> load(std::size_t max_states) const;
  // Hands a snapshot to the writer (one still waiting is replaced: only the newest counts).
  void save_async(const core::StateSnapshot& s);
  // Stops the writer, then writes `s` before returning.
  os::OsStatus save_now(const core::StateSnapshot& s);
  // The writer's last failure, once (nullopt when none is new); a success clears it.
  std::optional<std::string> take_error();

 private:
  void writer();

  std::string dir_;
  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::vector<std::uint8_t>> pending_;
  bool stop_ = false;
  std::string error_;
  bool error_new_ = false;
  std::thread thread_;
};

}  // namespace m6t::app
