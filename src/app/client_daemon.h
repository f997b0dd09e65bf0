// The client daemon: installs what the engine decides (tunnel address, default route, one
// fresh UDP socket per attachment, §3); its data path (datapath/client_datapath.h) moves the
// packets. No epoll here: run_client owns the loop.
#pragma once

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/datapath/client_datapath.h"
#include "app/drop_report.h"
#include "app/fast_path.h"
#include "app/hook.h"
#include "app/logger.h"
#include "app/settings.h"
#include "core/client_engine.h"
#include "os/netlink.h"
#include "os/packet_buffer.h"
#include "os/tun.h"
#include "os/udp.h"

namespace m6t::app {

// Opens the socket of one attachment: toward `gateway`, from the uplink's address.
using SocketFactory = std::function<os::OsResult<std::unique_ptr<os::UdpSocket>>(
    const core::Endpoint4& gateway, const core::Uplink& uplink)>;

// What the attachments' installation counts (the data path counts the rest).
struct ClientControlCounters {
  std::uint64_t netlink_errors = 0;
  std::uint64_t socket_errors = 0;
};

class ClientDaemon {
 public:
  ClientDaemon(const ClientSettings& settings, core::RandomSource& rng, os::TunDevice& tun,
               os::NetConfig& net, SocketFactory sockets, const Logger& log, core::Time now,
               core::Random48Claims* claims = nullptr, os::ProcessRunner* processes = nullptr);

  void on_uplink(const core::Uplink& uplink, core::Time now);
  // Gateways given by name were resolved (gateway_names.h): the engine's list in order.
  void set_gateways(std::vector<core::Endpoint4> gateways, core::Time now);
  void on_sleep_offset(core::Duration boot_minus_mono, core::Time now);
  void on_tun_readable(core::Time now);
  void on_udp_readable(core::Time now);
  // The socket reported an error (EPOLLERR): drains its error queue (path-MTU mode).
  void on_udp_errors(core::Time now);
  void on_timer(core::Time now);
  // The kernel fast path mirrors the tunnel from now on (null: none).
  void use_fast_path(std::unique_ptr<os::ClientFastPath> fast, FastPathStatus status);
  // SIGCHLD: a hook may have finished.
  void on_child_exit(core::Time now);
  // A reload's settings (reload.h): the engine's timers and ageing.
  void reconfigure(const ClientSettings& next);
  // Withdraws the address and the route; the daemon is about to exit.
  void shutdown(core::Time now);
  core::Deadline next_deadline() const;

  int socket_fd() const { return socket_ ? socket_->fd() : -1; }
  os::UdpSocket* socket() { return socket_.get(); }
  // Called when the attachment's socket is replaced (old or new fd may be -1).
  std::function<void(int old_fd, int new_fd)> on_socket_change;
  // CLOCK_BOOTTIME - CLOCK_MONOTONIC, read whenever the engine's sleep check is due
  // (client_timers.h); none: no sleep check (tests).
  std::function<core::Duration()> sleep_clock;

  nlohmann::json status(core::Time now) const;
  const core::ClientEngine& engine() const { return engine_; }
  const IoCounters& io_counters() const { return datapath_.counters(); }
  const ClientControlCounters& control_counters() const { return control_; }
  const Hook* hook() const { return hook_ ? &*hook_ : nullptr; }

 private:
  void apply_events(core::Time now);
  // Removes a tunnel address and its source route.
  void withdraw(int ifindex, const core::Ipv6Addr& address);
  void replace_socket(std::unique_ptr<os::UdpSocket> s);
  void check(const os::OsStatus& st, const char* what);

  ClientSettings settings_;
  core::ClientEngine engine_;
  os::TunDevice& tun_;
  os::NetConfig& net_;
  SocketFactory make_socket_;
  const Logger& log_;
  core::Time started_;
  std::unique_ptr<os::UdpSocket> socket_;
  bool route_installed_ = false;
  DropReport drops_;
  ClientDataPath datapath_;
  ClientControlCounters control_;
  std::optional<Hook> hook_;
  bool in_backoff_ = false;
  std::unique_ptr<os::ClientFastPath> fast_;
  FastPathStatus fast_status_;
};

}  // namespace m6t::app
