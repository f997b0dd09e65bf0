// The control socket: a Unix stream socket where `m6t show` asks a running daemon for its
// state. One request line in, one JSON document out, then the daemon closes the connection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "os/event_loop.h"
#include "os/result.h"

namespace m6t::os {

class ControlServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  // Binds `path` (mode 0660; a stale socket left by a dead daemon is replaced, a live one is
  // an error: "already running"), and serves it from `loop`. The file is removed on
  // destruction.
  static OsResult<std::unique_ptr<ControlServer>> open(const std::string& path, EventLoop& loop,
                                                       Handler handler);
  virtual ~ControlServer() = default;
};

// Sends one request and returns the whole answer.
OsResult<std::string> control_request(const std::string& path, const std::string& request,
                                      std::chrono::milliseconds timeout);

}  // namespace m6t::os
