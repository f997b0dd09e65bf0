// Host names to IPv4 addresses (getaddrinfo, AF_INET) on a thread of its own, so that the
// daemon's loop never waits for DNS: a lookup's answer arrives as readiness of fd(), and
// take() returns it. Only the latest lookup matters: one asked for while another runs replaces
// it once that one ends. The thread is started by the first lookup (after the privilege drop:
// a thread keeps the capabilities it was created with) and is left to end by itself when the
// resolver goes, should it be stuck in a lookup.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "os/result.h"

namespace m6t::os {

struct ResolverAnswer {
  std::uint64_t generation = 0;                                  // as given to resolve()
  std::map<std::string, std::vector<core::Ipv4Addr>> addresses;  // in the resolver's order
  std::map<std::string, std::string> errors;                     // names that failed, and why
};

class Resolver {
 public:
  static OsResult<std::unique_ptr<Resolver>> create();
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  void resolve(std::vector<std::string> names, std::uint64_t generation);
  int fd() const { return fd_; }
  // The answer that made fd() readable (and clears it), if any.
  std::optional<ResolverAnswer> take();

  struct Shared;

 private:
  Resolver() = default;
  int fd_ = -1;
  std::shared_ptr<Shared> shared_;
};

}  // namespace m6t::os
