// What the data path counts beside the engines' own counters: the kernel refusing a packet.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace m6t::app {

struct IoCounters {
  std::uint64_t tun_write_errors = 0;
  std::uint64_t udp_send_errors = 0;
  std::uint64_t truncated_datagrams = 0;  // larger than any buffer: never passed on
};

inline nlohmann::json io_json(const IoCounters& io) {
  return {{"tun_write_errors", io.tun_write_errors},
          {"udp_send_errors", io.udp_send_errors},
          {"truncated_datagrams", io.truncated_datagrams}};
}

}  // namespace m6t::app
