#include "app/gateway_names.h"

#include <algorithm>

namespace m6t::app {

bool GatewayNames::any() const {
  return std::any_of(specs_.begin(), specs_.end(), [](const GatewaySpec& g) { return !g.literal; });
}

std::vector<std::string> GatewayNames::names() const {
  std::vector<std::string> out;
  for (const auto& g : specs_)
    if (!g.literal && std::find(out.begin(), out.end(), g.host) == out.end()) out.push_back(g.host);
  return out;
}

std::vector<core::Endpoint4> GatewayNames::addresses() const {
  std::vector<core::Endpoint4> out;
  auto add = [&out](core::Endpoint4 e) {
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  for (const auto& g : specs_) {
    if (g.literal) {
      add({*g.literal, g.port});
    } else if (auto it = resolved_.find(g.host); it != resolved_.end()) {
      for (const auto& a : it->second)
        add({a, g.port});
    }
  }
  return out;
}

void GatewayNames::update(const os::ResolverAnswer& answer) {
  for (const auto& [name, addrs] : answer.addresses)
    if (!addrs.empty()) resolved_[name] = addrs;
}

}  // namespace m6t::app
