#include "os/event_loop.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include <gtest/gtest.h>

#include "os/clock.h"
#include "os/unique_fd.h"

namespace m6t::os {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop.ok()) << (loop.ok() ? "" : loop.error());
  return loop.ok() ? std::move(*loop) : nullptr;
}

// A one-shot timerfd independent of the loop's own timer, to end a run() in the tests.
UniqueFd guard_timer(milliseconds after) {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  itimerspec its{};
  its.it_value.tv_sec = after.count() / 1000;
  its.it_value.tv_nsec = (after.count() % 1000) * 1'000'000;
  ::timerfd_settime(fd.get(), 0, &its, nullptr);
  return fd;
}

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
  void poke() { EXPECT_EQ(::write(w.get(), "x", 1), 1); }
  UniqueFd r, w;
};

TEST(EventLoop, TimerFiresAtDeadlineNotBefore) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  const core::Time deadline = mono_now() + milliseconds(50);
  core::Time fired_at{};
  int fired = 0;
  loop->on_timer([&] {
    fired_at = mono_now();
    ++fired;
    loop->stop();
  });
  loop->set_deadline(deadline);
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(fired, 1);
  EXPECT_GE(fired_at, deadline);
  EXPECT_LT(fired_at, deadline + milliseconds(1000));
}

TEST(EventLoop, PastDeadlineStillFires) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  for (core::Time past : {mono_now() - milliseconds(10), core::kTimeZero}) {
    int fired = 0;
    loop->on_timer([&] {
      ++fired;
      loop->stop();
    });
    loop->set_deadline(past);
    ASSERT_TRUE(loop->run().ok());
    EXPECT_EQ(fired, 1);
  }
}

TEST(EventLoop, DisarmedTimerDoesNotFire) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  int fired = 0;
  loop->on_timer([&] { ++fired; });
  loop->set_deadline(mono_now() + milliseconds(20));
  loop->set_deadline(std::nullopt);
  UniqueFd guard = guard_timer(milliseconds(100));
  ASSERT_TRUE(loop->add(guard.get(), [&](std::uint32_t) { loop->stop(); }).ok());
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(fired, 0);
}

TEST(EventLoop, RearmingLaterPostponesTheTimer) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  core::Time fired_at{};
  loop->on_timer([&] {
    fired_at = mono_now();
    loop->stop();
  });
  loop->set_deadline(mono_now() + milliseconds(10));
  const core::Time later = mono_now() + milliseconds(80);
  loop->set_deadline(later);
  ASSERT_TRUE(loop->run().ok());
  EXPECT_GE(fired_at, later);
}

TEST(EventLoop, SignalIsDeliveredThroughHandler) {
  sigset_t old;
  pthread_sigmask(SIG_SETMASK, nullptr, &old);
  {
    auto loop = make_loop();
    ASSERT_TRUE(loop);
    int got = 0;
    ASSERT_TRUE(loop->on_signals({SIGUSR1, SIGUSR2},
                                 [&](int sig) {
                                   got = sig;
                                   loop->stop();
                                 })
                    .ok());
    ASSERT_EQ(::raise(SIGUSR1), 0);  // blocked: stays pending until the signalfd reads it
    ASSERT_TRUE(loop->run().ok());
    EXPECT_EQ(got, SIGUSR1);
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    EXPECT_EQ(sigismember(&now, SIGUSR1), 1);
    EXPECT_EQ(sigismember(&now, SIGUSR2), 1);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST(EventLoop, ReadableFdRunsHandlerUntilRemoved) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Pipe p;
  p.poke();
  int calls = 0;
  // Level-triggered: the byte is never read, so the handler keeps being called.
  ASSERT_TRUE(loop->add(p.r.get(),
                        [&](std::uint32_t ev) {
                          EXPECT_TRUE(ev & EPOLLIN);
                          if (++calls == 3) loop->remove(p.r.get());
                        })
                  .ok());
  UniqueFd guard = guard_timer(milliseconds(50));
  ASSERT_TRUE(loop->add(guard.get(), [&](std::uint32_t) { loop->stop(); }).ok());
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(calls, 3);
}

TEST(EventLoop, FdRemovedByAnotherHandlerInSameRoundIsSkipped) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Pipe a, b;
  a.poke();
  b.poke();  // both ready: both come back from the same epoll_wait
  int calls = 0;
  ASSERT_TRUE(loop->add(a.r.get(),
                        [&](std::uint32_t) {
                          ++calls;
                          loop->remove(a.r.get());
                          loop->remove(b.r.get());
                        })
                  .ok());
  ASSERT_TRUE(loop->add(b.r.get(),
                        [&](std::uint32_t) {
                          ++calls;
                          loop->remove(a.r.get());
                          loop->remove(b.r.get());
                        })
                  .ok());
  UniqueFd guard = guard_timer(milliseconds(50));
  ASSERT_TRUE(loop->add(guard.get(), [&](std::uint32_t) { loop->stop(); }).ok());
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, ReaddedFdInSameRoundDoesNotGetStaleEvent) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Pipe a, b;
  a.poke();
  b.poke();
  int stale = 0;
  int first = 0;
  // Whichever runs first re-registers the other fd with a new handler that asks for no events
  // at all: it can only be called by the event already fetched for the old registration.
  auto replace_other = [&](int other) {
    ++first;
    loop->remove(a.r.get());
    loop->remove(b.r.get());
    ASSERT_TRUE(loop->add(other, 0, [&](std::uint32_t) { ++stale; }).ok());
  };
  ASSERT_TRUE(loop->add(a.r.get(), [&](std::uint32_t) { replace_other(b.r.get()); }).ok());
  ASSERT_TRUE(loop->add(b.r.get(), [&](std::uint32_t) { replace_other(a.r.get()); }).ok());
  UniqueFd guard = guard_timer(milliseconds(50));
  ASSERT_TRUE(loop->add(guard.get(), [&](std::uint32_t) { loop->stop(); }).ok());
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(stale, 0);
}

TEST(EventLoop, AddTwiceFailsWithMessage) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Pipe p;
  ASSERT_TRUE(loop->add(p.r.get(), [](std::uint32_t) {}).ok());
  auto again = loop->add(p.r.get(), [](std::uint32_t) {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "epoll_ctl add fd " + std::to_string(p.r.get()) + ": File exists");
  loop->remove(p.r.get());
  loop->remove(p.r.get());  // unknown fds are ignored
  EXPECT_TRUE(loop->add(p.r.get(), [](std::uint32_t) {}).ok());
}

TEST(EventLoop, SetEventsSwitchesToWritable) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Pipe p;
  std::uint32_t seen = 0;
  ASSERT_TRUE(loop->add(p.w.get(), 0,
                        [&](std::uint32_t ev) {
                          seen = ev;
                          loop->stop();
                        })
                  .ok());
  ASSERT_TRUE(loop->set_events(p.w.get(), EPOLLOUT).ok());
  ASSERT_TRUE(loop->run().ok());
  EXPECT_TRUE(seen & EPOLLOUT);
  EXPECT_FALSE(loop->set_events(12345, EPOLLIN).ok());
}

}  // namespace
}  // namespace m6t::os
