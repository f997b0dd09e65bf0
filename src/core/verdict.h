// What an engine decides for one packet. The daemon carries it out; the engine never does I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/drop.h"
#include "core/enum_names.h"
#include "core/state_table.h"

namespace m6t::core {

enum class Action : std::uint8_t {
  kDrop,     // count `drop` and forget the packet
  kToTun,    // write `packet` to the TUN device
  kToUdp,    // send `packet` as a datagram along `to` (from to.local to to.remote)
  kConsumed  // handled inside the engine (a keepalive answer on the client)
};

inline constexpr std::array<std::string_view, 4> kActionNames = {"drop", "to_tun", "to_udp",
                                                                 "consumed"};

constexpr std::string_view to_string(Action a) {
  return name_of(kActionNames, a);
}

struct Verdict {
  Action action = Action::kDrop;
  Drop drop = Drop::kCount;  // the reason, when action is kDrop
  Binding to;                // when kToUdp
  std::span<const std::uint8_t> packet;
  bool df = false;  // when kToUdp: set the outer IPv4 DF bit (path-MTU mode)

  static Verdict dropped(Drop d) { return {Action::kDrop, d, {}, {}}; }
  static Verdict consumed() { return {Action::kConsumed, Drop::kCount, {}, {}}; }
};

}  // namespace m6t::core
