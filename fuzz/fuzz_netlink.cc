// What the client makes of the kernel's rtnetlink messages (src/os/netlink.cc: the IPv4
// monitor's notifications, the address and route dumps, extended acks) and the uplink it
// then selects (src/app/uplink.cc, §3). Checked whatever the bytes: nothing is read outside
// the buffer (ASan), and a selected uplink is backed by a parsed default route and address.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "app/uplink.h"
#include "os/netlink.h"

using namespace m6t;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: --uplink or not (and which ifindex); the rest: the messages, 4-byte aligned
  // like the kernel's buffer.
  std::optional<int> uplink;
  if (data[0] & 0x80) uplink = data[0] & 0x7f;
  std::vector<std::uint32_t> aligned((size - 1 + 3) / 4);
  if (size > 1) std::memcpy(aligned.data(), data + 1, size - 1);
  os::Ipv4Snapshot snapshot;
  auto parsed = os::parse_netlink_messages(
      std::span(reinterpret_cast<const std::uint8_t*>(aligned.data()), size - 1), snapshot);
  if (parsed.messages == 0 && (!snapshot.addresses.empty() || !snapshot.default_routes.empty()))
    std::abort();
  if (parsed.extack.size() > size) std::abort();
  for (const auto& a : snapshot.addresses)
    if (a.prefix_len > 255) std::abort();

  core::Uplink u = app::select_uplink(snapshot, uplink);
  if (u.connected) {
    if (uplink && u.ifindex != static_cast<std::uint32_t>(*uplink)) std::abort();
    bool route = false, address = false;
    for (const auto& r : snapshot.default_routes)
      route =
          route || (static_cast<std::uint32_t>(r.ifindex) == u.ifindex && r.gateway == u.router);
    for (const auto& a : snapshot.addresses)
      address =
          address || (static_cast<std::uint32_t>(a.ifindex) == u.ifindex && a.addr == u.address);
    if (!route || !address) std::abort();
    if (u.address.value >> 24 == 127 || u.address.value >> 16 == 0xa9fe) std::abort();
  }
  return 0;
}
