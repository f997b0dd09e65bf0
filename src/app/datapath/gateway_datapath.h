// The gateway's per-packet loops: batches in from the listening sockets and the TUN device,
// the engine's verdict for each packet, batches out. Nothing here allocates, locks or logs;
// buffers are allocated once, at construction.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "app/datapath/io_counters.h"
#include "app/drop_report.h"
#include "core/gateway_engine.h"
#include "os/packet_buffer.h"
#include "os/tun.h"
#include "os/udp.h"

namespace m6t::app {

class GatewayDataPath {
 public:
  // sockets[i] is the engine's listener i (null: removed by a reload).
  GatewayDataPath(core::GatewayEngine& engine, os::TunDevice& tun,
                  const std::vector<std::unique_ptr<os::UdpSocket>>& sockets, DropReport& drops);

  void on_udp_readable(std::size_t listener, core::Time now);
  void on_tun_readable(core::Time now);
  // The socket reported an error (EPOLLERR): drains its error queue (path-MTU mode).
  void on_udp_errors(std::size_t listener, core::Time now);

  const IoCounters& counters() const { return io_; }
  // A reload added or removed sockets (outside a batch: nothing is pending then).
  void listeners_changed();

 private:
  void flush(std::size_t listener);

  core::GatewayEngine& engine_;
  os::TunDevice& tun_;
  const std::vector<std::unique_ptr<os::UdpSocket>>& sockets_;
  DropReport& drops_;
  os::PacketBatch udp_rx_;
  os::PacketBatch tun_rx_;
  std::vector<std::vector<os::SendItem>> pending_;  // per listener, capacity kBatchSize
  std::vector<std::uint8_t> scratch_;
  std::array<core::Ipv6Addr, os::kBatchSize> mns_;  // a batch's MNs, for prefetching
  IoCounters io_;
};

}  // namespace m6t::app
