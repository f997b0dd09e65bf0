// epoll + one timerfd (armed from the engine's next deadline) + signalfd.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <unordered_map>

#include "core/time.h"
#include "os/result.h"

namespace m6t::os {

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t epoll_events)>;

  static OsResult<std::unique_ptr<EventLoop>> create();
  ~EventLoop();

  // Watches fd for EPOLLIN (level-triggered); handler runs on readiness.
  OsStatus add(int fd, Handler handler);
  void remove(int fd);
  // Arms the timer at an absolute CLOCK_MONOTONIC time (nullopt disarms). on_timer runs then.
  void set_deadline(core::Deadline when);
  void on_timer(std::function<void()> handler) { timer_handler_ = std::move(handler); }
  // Blocks the given signals and delivers them through signalfd to handler.
  OsStatus on_signals(std::initializer_list<int> signals, std::function<void(int)> handler);
  // Runs until stop(); returns an error only when epoll itself fails.
  OsStatus run();
  void stop() { running_ = false; }

 private:
  EventLoop() = default;
  int epfd_ = -1;
  int timerfd_ = -1;
  int sigfd_ = -1;
  bool running_ = false;
  std::unordered_map<int, Handler> handlers_;
  std::function<void()> timer_handler_;
  std::function<void(int)> signal_handler_;
};

}  // namespace m6t::os
