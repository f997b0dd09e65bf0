// The client's per-packet loops: batches in from the TUN device and the attachment's socket,
// the engine's verdict for each packet, batches out. Nothing here allocates, locks or logs;
// buffers are allocated once, at construction. The socket changes with every attachment (§3),
// so each call is given the current one (none while detached).
#pragma once

#include <vector>

#include "app/datapath/io_counters.h"
#include "app/drop_report.h"
#include "core/client_engine.h"
#include "os/packet_buffer.h"
#include "os/tun.h"
#include "os/udp.h"

namespace m6t::app {

class ClientDataPath {
 public:
  ClientDataPath(core::ClientEngine& engine, os::TunDevice& tun, DropReport& drops);

  void on_tun_readable(os::UdpSocket* socket, core::Time now);
  void on_udp_readable(os::UdpSocket& socket, core::Time now);
  // The socket reported an error (EPOLLERR): drains its error queue (path-MTU mode).
  void on_udp_errors(os::UdpSocket& socket, core::Time now);
  // The engine's keepalive (§2.3), toward the gateway in use.
  void send_keepalive(os::UdpSocket& socket);

  const IoCounters& counters() const { return io_; }

 private:
  core::ClientEngine& engine_;
  os::TunDevice& tun_;
  DropReport& drops_;
  os::PacketBatch udp_rx_;
  os::PacketBatch tun_rx_;
  std::vector<os::SendItem> pending_;
  IoCounters io_;
};

}  // namespace m6t::app
