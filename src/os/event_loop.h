// epoll + one timerfd (armed from the engine's next deadline) + signalfd.
#pragma once

#include <signal.h>

#include <csignal>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <unordered_map>

#include "core/time.h"
#include "os/result.h"

namespace m6t::os {

// Single-threaded: every method, including stop(), is called from the thread running run()
// (handlers included). Registered fds stay owned by the caller, who removes them before
// closing them.
class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t epoll_events)>;

  static OsResult<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches fd for EPOLLIN (level-triggered); handler runs on readiness. EPOLLERR and
  // EPOLLHUP are always reported too (epoll adds them): a handler must consume them, e.g. a
  // UDP socket with IP_RECVERR drains its error queue, or it is called again at once.
  OsStatus add(int fd, Handler handler);
  // Same with another event mask (EPOLLIN, EPOLLOUT or both), and a change of an fd's mask.
  OsStatus add(int fd, std::uint32_t events, Handler handler);
  OsStatus set_events(int fd, std::uint32_t events);
  // Unregisters fd; a readiness already reported for it in the current round is dropped, so a
  // handler may remove its own or other fds. Unknown fds are ignored.
  void remove(int fd);
  // Arms the timer at an absolute CLOCK_MONOTONIC time (nullopt disarms); a time in the past
  // fires at once. on_timer runs then.
  void set_deadline(core::Deadline when);
  void on_timer(std::function<void()> handler) { timer_handler_ = std::move(handler); }
  // Blocks the given signals (in the calling thread; threads started later inherit the mask)
  // and delivers them through signalfd to handler. A second call adds to the set and replaces
  // the handler. The signals stay blocked after the loop is destroyed.
  OsStatus on_signals(std::initializer_list<int> signals, std::function<void(int)> handler);
  // Runs until stop(); returns an error only when epoll itself fails.
  OsStatus run();
  void stop() { running_ = false; }

 private:
  struct Entry {
    // Shared so that run() can hold the handler alive while it runs, even if the handler
    // removes itself, without copying a std::function (which may allocate) per event.
    std::shared_ptr<const Handler> handler;
    std::uint32_t generation = 0;
  };

  EventLoop() = default;
  OsStatus add_entry(int fd, std::uint32_t events, Handler handler);
  void on_timerfd();
  void on_signalfd();

  int epfd_ = -1;
  int timerfd_ = -1;
  int sigfd_ = -1;
  bool running_ = false;
  // Tags each registration, so that an event for a removed fd is not delivered to a new
  // registration that reused the same fd number within the same epoll_wait round.
  std::uint32_t generation_ = 0;
  sigset_t sigmask_{};
  std::unordered_map<int, Entry> handlers_;
  std::function<void()> timer_handler_;
  std::function<void(int)> signal_handler_;
};

}  // namespace m6t::os
