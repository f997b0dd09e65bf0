// Text decoders: every accepted address, endpoint and prefix prints back to itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/address.h"

using namespace m6t;
using namespace m6t::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = Ipv4Addr::parse(text); a && Ipv4Addr::parse(a->to_string()) != a) std::abort();
  if (auto a = Ipv6Addr::parse(text); a && Ipv6Addr::parse(a->to_string()) != a) std::abort();
  if (auto e = Endpoint4::parse(text)) {
    if (e->port == 0 || Endpoint4::parse(e->to_string()) != e) std::abort();
  }
  auto p = Ipv6Prefix::parse(text);
  if (p.has_value() != prefix_parse_error(text).empty()) std::abort();
  if (p) {
    if (Ipv6Prefix::parse(p->to_string()) != p || !p->contains(p->addr)) std::abort();
    if (p->len == 48) {
      auto mn = make_mn_prefix(*p, 1, 2);
      if (!mn || !p->contains(mn->addr) || mn->len != 80) std::abort();
      if (!mn->contains(make_tunnel_address(*mn, 0xffffffffffffULL))) std::abort();
    }
  }
  return 0;
}
