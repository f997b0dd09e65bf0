#include "os/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace m6t::os {

// Between the loop and the lookup thread: the request to do, the answer done, a stop flag.
// The eventfd is the thread's own duplicate, so that it stays valid while the thread lives.
struct Resolver::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::pair<std::vector<std::string>, std::uint64_t>> request;
  std::optional<ResolverAnswer> answer;
  bool stop = false;
  bool started = false;
  int wake_fd = -1;
};

namespace {

ResolverAnswer lookup(const std::vector<std::string>& names, std::uint64_t generation) {
  ResolverAnswer a;
  a.generation = generation;
  for (const auto& name : names) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      a.errors[name] = ::gai_strerror(rc);
      continue;
    }
    auto& out = a.addresses[name];
    for (addrinfo* p = res; p; p = p->ai_next) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
      core::Ipv4Addr addr{ntohl(sin->sin_addr.s_addr)};
      if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
    }
    ::freeaddrinfo(res);
  }
  return a;
}

void run(std::shared_ptr<Resolver::Shared> s) {
  std::unique_lock lock(s->mu);
  while (true) {
    s->cv.wait(lock, [&] { return s->stop || s->request; });
    if (s->stop) break;
    auto [names, generation] = std::move(*s->request);
    s->request.reset();
    lock.unlock();
    ResolverAnswer a = lookup(names, generation);
    lock.lock();
    if (s->stop) break;
    s->answer = std::move(a);
    const std::uint64_t one = 1;
    (void)!::write(s->wake_fd, &one, sizeof one);
  }
  ::close(s->wake_fd);
}

}  // namespace

OsResult<std::unique_ptr<Resolver>> Resolver::create() {
  auto r = std::unique_ptr<Resolver>(new Resolver);
  r->fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (r->fd_ < 0) return errno_error("eventfd");
  r->shared_ = std::make_shared<Shared>();
  r->shared_->wake_fd = ::fcntl(r->fd_, F_DUPFD_CLOEXEC, 0);
  if (r->shared_->wake_fd < 0) return errno_error("eventfd");
  return r;
}

Resolver::~Resolver() {
  if (shared_) {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
    if (!shared_->started) ::close(shared_->wake_fd);
    shared_->cv.notify_all();
  }
  if (fd_ >= 0) ::close(fd_);
}

void Resolver::resolve(std::vector<std::string> names, std::uint64_t generation) {
  std::lock_guard lock(shared_->mu);
  shared_->request = std::make_pair(std::move(names), generation);
  if (!shared_->started) {
    shared_->started = true;
    std::thread(run, shared_).detach();
  }
  shared_->cv.notify_all();
}

std::optional<ResolverAnswer> Resolver::take() {
  std::uint64_t n = 0;
  (void)!::read(fd_, &n, sizeof n);
  std::lock_guard lock(shared_->mu);
  auto a = std::move(shared_->answer);
  shared_->answer.reset();
  return a;
}

}  // namespace m6t::os
