// A small HTTP server (civetweb) answering GET on one path with what a handler returns; the
// rest is 404. The handler runs on civetweb's own threads: it must not touch the daemon's
// state (the metrics endpoint asks the daemon's control socket instead, as `m6t show` does).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/address.h"
#include "os/result.h"

struct mg_context;

namespace m6t::os {

class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type;
    std::string body;
  };
  using Handler = std::function<Response()>;

  // Started on `listen` with `threads` worker threads. Start it after the privilege drop: a
  // thread keeps the capabilities it was created with.
  static OsResult<std::unique_ptr<HttpServer>> start(const core::Endpoint4& listen,
                                                     const std::string& path, Handler handler,
                                                     int threads = 2);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  HttpServer() = default;
  mg_context* ctx_ = nullptr;
  Handler handler_;
};

}  // namespace m6t::os
