#include "core/drop.h"

namespace m6t::core {

namespace {

struct Name {
  std::string_view id;
  std::string_view text;
};

constexpr std::array<Name, kDropCount> kNames = {{
    {"truncated", "shorter than an IPv6 header"},
    {"bad_version", "IP version is not 6"},
    {"length_mismatch", "IPv6 payload length does not match the datagram"},
    {"oversized", "larger than the tunnel MTU"},
    {"src_invalid", "source is multicast, link-local, loopback or unspecified"},
    {"src_outside_prefix", "source outside the MN prefix"},
    {"dst_not_home_agent", "destination is not a home agent"},
    {"binding_mismatch", "source bound to another IPv4 address or port"},
    {"keepalive_no_state", "keepalive without state"},
    {"keepalive_not_active", "keepalive for a temporary state"},
    {"rate_limited", "state creation rate exceeded for the IPv4 address"},
    {"state_table_full", "state table full"},
    {"dst_outside_prefix", "destination outside the MN prefix"},
    {"no_state", "no state for the destination"},
    {"temp_not_from_home_agent", "temporary state, source is not a home agent"},
    {"too_big", "larger than the path MTU"},
    {"not_attached", "no IPv4 attachment"},
    {"not_from_gateway", "datagram not from the gateway in use"},
    {"dst_not_tunnel_address", "destination is not the tunnel address"},
    {"src_not_tunnel_address", "source is not the tunnel address"},
    {"dst_invalid", "destination is multicast or link-local"},
}};

}  // namespace

std::string_view to_string(Drop d) {
  return kNames[static_cast<std::size_t>(d)].id;
}
std::string_view describe(Drop d) {
  return kNames[static_cast<std::size_t>(d)].text;
}

std::uint64_t DropCounters::total() const {
  std::uint64_t t = 0;
  for (auto c : counts_)
    t += c;
  return t;
}

}  // namespace m6t::core
