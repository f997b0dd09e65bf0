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
  // Binds `path` (mode 0660, in a directory that must exist: "directory /x: No such file or
  // directory"; a stale socket left by a dead daemon is replaced, a live one is an error:
  // "<path>: another daemon is already running"), and serves it from `loop`, which must outlive the
  // server. Each connection sends one line (at most 4 KiB, "\n" stripped) and gets handler's
  // answer; all socket I/O is non-blocking, and a client that has not read its answer after 5 s is
  // dropped. The file is removed on destruction unless another daemon has replaced it meanwhile.
  static OsResult<std::unique_ptr<ControlServer>> open(const std::string& path, EventLoop& loop,
                                                       Handler handler);
  virtual ~ControlServer() = default;
};

// Sends one request and returns the whole answer (read until the daemon closes), or an
// error such as "/run/m6t/x.sock: No such file or directory (is the daemon running?)" or
// "<path>: no answer within 2000 ms" once `timeout` has passed in total.
OsResult<std::string> control_request(const std::string& path, const std::string& request,
                                      std::chrono::milliseconds timeout);

}  // namespace m6t::os
