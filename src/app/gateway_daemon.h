// The gateway daemon's data path and timers, over OS interfaces (real or fake): reads batches
// from the listening sockets and the TUN device, lets the engine decide, and carries out the
// decisions in batches. No epoll here: the caller (run_gateway) owns the loop.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/drop_report.h"
#include "app/logger.h"
#include "app/settings.h"
#include "core/gateway_engine.h"
#include "os/packet_buffer.h"
#include "os/tun.h"
#include "os/udp.h"

namespace m6t::app {

struct GatewayIoCounters {
  std::uint64_t tun_write_errors = 0;
  std::uint64_t udp_send_errors = 0;
  std::uint64_t truncated_datagrams = 0;
};

class GatewayDaemon {
 public:
  // sockets[i] serves settings.listen[i]; the engine's listener numbers are these indexes.
  GatewayDaemon(const GatewaySettings& settings, core::RandomSource& rng, os::TunDevice& tun,
                std::vector<std::unique_ptr<os::UdpSocket>> sockets, const Logger& log,
                core::Time now);

  void on_udp_readable(std::size_t listener, core::Time now);
  void on_tun_readable(core::Time now);
  // The socket reported an error (EPOLLERR): drains its error queue (path-MTU mode).
  void on_udp_errors(std::size_t listener, core::Time now);
  void on_timer(core::Time now);
  // The daemon stops: logs the drops not yet summarised.
  void shutdown(core::Time now);
  core::Deadline next_deadline() const;

  nlohmann::json status(core::Time now) const;
  const core::GatewayEngine& engine() const { return engine_; }
  const std::vector<std::unique_ptr<os::UdpSocket>>& sockets() const { return sockets_; }
  const GatewayIoCounters& io_counters() const { return io_; }

 private:
  void flush(std::size_t listener);

  GatewaySettings settings_;
  core::GatewayEngine engine_;
  os::TunDevice& tun_;
  std::vector<std::unique_ptr<os::UdpSocket>> sockets_;
  const Logger& log_;
  core::Time started_;
  os::PacketBatch udp_rx_;
  os::PacketBatch tun_rx_;
  std::vector<std::vector<os::SendItem>> pending_;  // per listener, capacity kBatchSize
  std::vector<std::uint8_t> scratch_;
  DropReport drops_;
  GatewayIoCounters io_;
};

}  // namespace m6t::app
