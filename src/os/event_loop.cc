#include "os/event_loop.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

namespace m6t::os {
namespace {

constexpr std::uint64_t pack(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

OsResult<std::unique_ptr<EventLoop>> EventLoop::create() {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd_ < 0) return errno_error("epoll_create1");
  loop->timerfd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (loop->timerfd_ < 0) return errno_error("timerfd_create");
  EventLoop* self = loop.get();
  if (auto r =
          loop->add_entry(loop->timerfd_, EPOLLIN, [self](std::uint32_t) { self->on_timerfd(); });
      !r) {
    return OsError{r.error()};
  }
  sigemptyset(&loop->sigmask_);
  return loop;
}

EventLoop::~EventLoop() {
  if (sigfd_ >= 0) ::close(sigfd_);
  if (timerfd_ >= 0) ::close(timerfd_);
  if (epfd_ >= 0) ::close(epfd_);
}

OsStatus EventLoop::add(int fd, Handler handler) {
  return add_entry(fd, EPOLLIN, std::move(handler));
}

OsStatus EventLoop::add(int fd, std::uint32_t events, Handler handler) {
  return add_entry(fd, events, std::move(handler));
}

OsStatus EventLoop::add_entry(int fd, std::uint32_t events, Handler handler) {
  const std::uint32_t generation = ++generation_;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(fd, generation);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    return errno_error("epoll_ctl add fd " + std::to_string(fd));
  }
  handlers_[fd] = Entry{std::make_shared<const Handler>(std::move(handler)), generation};
  return Ok{};
}

OsStatus EventLoop::set_events(int fd, std::uint32_t events) {
  const auto it = handlers_.find(fd);
  if (it == handlers_.end())
    return OsError{"epoll_ctl mod fd " + std::to_string(fd) + ": not registered"};
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(fd, it->second.generation);
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0) {
    return errno_error("epoll_ctl mod fd " + std::to_string(fd));
  }
  return Ok{};
}

void EventLoop::remove(int fd) {
  if (handlers_.erase(fd) == 0) return;
  // Fails only if fd was already closed (then the kernel dropped it from the set itself).
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::set_deadline(core::Deadline when) {
  itimerspec its{};
  int flags = 0;
  if (when) {
    std::int64_t ns = when->time_since_epoch().count();
    // it_value == 0 would disarm: a deadline at or before the clock's epoch is simply due.
    if (ns <= 0) ns = 1;
    its.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    flags = TFD_TIMER_ABSTIME;
  }
  // Cannot fail with a valid timerfd and a normalized, non-negative time.
  ::timerfd_settime(timerfd_, flags, &its, nullptr);
}

void EventLoop::on_timerfd() {
  std::uint64_t expirations = 0;
  // EAGAIN: the timer was re-armed for later after it fired but before this handler ran
  // (set_deadline from an earlier handler of the same round), so it is not due any more.
  if (::read(timerfd_, &expirations, sizeof expirations) != sizeof expirations) return;
  if (timer_handler_) timer_handler_();
}

OsStatus EventLoop::on_signals(std::initializer_list<int> signals,
                               std::function<void(int)> handler) {
  for (int s : signals)
    sigaddset(&sigmask_, s);
  if (int err = ::pthread_sigmask(SIG_BLOCK, &sigmask_, nullptr); err != 0) {
    return errno_error("pthread_sigmask", err);
  }
  const int fd = ::signalfd(sigfd_, &sigmask_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return errno_error("signalfd");
  signal_handler_ = std::move(handler);
  if (sigfd_ < 0) {
    sigfd_ = fd;
    if (auto r = add_entry(sigfd_, EPOLLIN, [this](std::uint32_t) { on_signalfd(); }); !r) {
      return r;
    }
  }
  return Ok{};
}

void EventLoop::on_signalfd() {
  signalfd_siginfo info;
  while (::read(sigfd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (signal_handler_) signal_handler_(static_cast<int>(info.ssi_signo));
  }
}

OsStatus EventLoop::run() {
  running_ = true;
  std::array<epoll_event, 64> events;
  while (running_) {
    const int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      running_ = false;
      return errno_error("epoll_wait");
    }
    for (int i = 0; i < n && running_; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      const auto fd = static_cast<int>(static_cast<std::uint32_t>(tag));
      const auto it = handlers_.find(fd);
      if (it == handlers_.end() || it->second.generation != static_cast<std::uint32_t>(tag >> 32)) {
        continue;  // removed (and maybe re-added) by an earlier handler of this round
      }
      const std::shared_ptr<const Handler> handler = it->second.handler;
      (*handler)(events[i].events);
    }
  }
  return Ok{};
}

}  // namespace m6t::os
