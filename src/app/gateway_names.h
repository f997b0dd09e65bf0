// --gateway entries given by host name (§2.1 leaves the gateway's addressing to the
// operator): resolved again at each attachment (a new IPv4 network may have another DNS view,
// and the operator may have moved the name), never blocking the loop (os/resolver.h), within
// kResolveTimeout; a name that fails keeps the addresses it had.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "app/settings.h"
#include "os/resolver.h"

namespace m6t::app {

inline constexpr std::chrono::seconds kResolveTimeout{5};

class GatewayNames {
 public:
  explicit GatewayNames(std::vector<GatewaySpec> specs) : specs_(std::move(specs)) {}
  bool any() const;
  std::vector<std::string> names() const;
  // The engine's list: the entries in order, a name standing for every address it last
  // resolved to (none before its first answer).
  std::vector<core::Endpoint4> addresses() const;
  // What an answer gave; the names that failed keep their previous addresses.
  void update(const os::ResolverAnswer& answer);

 private:
  std::vector<GatewaySpec> specs_;
  std::map<std::string, std::vector<core::Ipv4Addr>> resolved_;
};

}  // namespace m6t::app
