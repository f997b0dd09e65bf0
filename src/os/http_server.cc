#include "os/http_server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

namespace m6t::os {

namespace {

int serve(mg_connection* conn, void* cbdata) {
  const mg_request_info* req = mg_get_request_info(conn);
  if (std::strcmp(req->request_method, "GET") != 0 && std::strcmp(req->request_method, "HEAD"))
    return mg_send_http_error(conn, 405, "%s", "GET only\n"), 405;
  const auto& handler = *static_cast<const HttpServer::Handler*>(cbdata);
  HttpServer::Response r = handler();
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            r.status, r.status == 200 ? "OK" : "Service Unavailable", r.content_type.c_str(),
            r.body.size());
  if (std::strcmp(req->request_method, "HEAD") != 0) mg_write(conn, r.body.data(), r.body.size());
  return r.status;
}

// Anything but the one path.
int not_found(mg_connection* conn, void*) {
  mg_send_http_error(conn, 404, "%s", "not found: try /metrics\n");
  return 404;
}

}  // namespace

OsResult<std::unique_ptr<HttpServer>> HttpServer::start(const core::Endpoint4& listen,
                                                        const std::string& path, Handler handler,
                                                        int threads) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  auto s = std::unique_ptr<HttpServer>(new HttpServer);
  s->handler_ = std::move(handler);
  const std::string ports = listen.to_string();
  const std::string nthreads = std::to_string(threads);
  const char* options[] = {"listening_ports",
                           ports.c_str(),
                           "num_threads",
                           nthreads.c_str(),
                           "request_timeout_ms",
                           "5000",
                           "enable_keep_alive",
                           "no",
                           nullptr};
  mg_callbacks callbacks{};
  // civetweb logs to stderr unless told otherwise: its errors reach us as a failed start.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  s->ctx_ = mg_start(&callbacks, nullptr, options);
  if (!s->ctx_)
    return OsError{"cannot serve HTTP on " + ports +
                   " (address in use, not ours, or a port below 1024 after --user)"};
  // civetweb takes the first registered pattern that matches.
  mg_set_request_handler(s->ctx_, (path + "$").c_str(), &serve, &s->handler_);
  mg_set_request_handler(s->ctx_, "/", &not_found, nullptr);
  return s;
}

HttpServer::~HttpServer() {
  if (ctx_) mg_stop(ctx_);
}

}  // namespace m6t::os
