// The gateway daemon over OS interfaces (real or fake): its engine, its data path
// (datapath/gateway_datapath.h), timers and status. No epoll here: the caller (run_gateway)
// owns the loop.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/datapath/gateway_datapath.h"
#include "app/drop_report.h"
#include "app/fast_path.h"
#include "app/logger.h"
#include "app/settings.h"
#include "app/state_store.h"
#include "core/gateway_engine.h"
#include "os/packet_buffer.h"
#include "os/tun.h"
#include "os/udp.h"

namespace m6t::app {

class GatewayDaemon {
 public:
  // sockets[i] serves settings.listen[i]; the engine's listener numbers are these indexes.
  GatewayDaemon(const GatewaySettings& settings, core::RandomSource& rng, os::TunDevice& tun,
                std::vector<std::unique_ptr<os::UdpSocket>> sockets, const Logger& log,
                core::Time now);

  void on_udp_readable(std::size_t listener, core::Time now) {
    datapath_.on_udp_readable(listener, now);
  }
  void on_tun_readable(core::Time now) { datapath_.on_tun_readable(now); }
  // The socket reported an error (EPOLLERR): drains its error queue (path-MTU mode).
  void on_udp_errors(std::size_t listener, core::Time now) {
    datapath_.on_udp_errors(listener, now);
  }
  void on_timer(core::Time now);
  // The kernel fast path mirrors the engine's active states from now on (null: none).
  void use_fast_path(std::unique_ptr<os::GatewayFastPath> fast, FastPathStatus status);
  // A reload's settings (reload.h): the engine's reloadable parts, the fast path's home agents.
  os::OsStatus reconfigure(const GatewaySettings& next);
  // A reload's listen addresses: a socket more (its listener index returned), or one fewer,
  // whose states go (their bindings name it, §2.4); returns how many states went.
  std::size_t add_listener(std::unique_ptr<os::UdpSocket> socket);
  std::size_t remove_listener(std::size_t listener);
  // Saved states (state_store.h): restored now from `store` (one log line whatever the file
  // held), then saved there every --state-save-s and at shutdown.
  void use_state_store(StateStore& store, core::Time now);
  // The daemon stops: logs the drops not yet summarised, saves the active states.
  void shutdown(core::Time now);
  core::Deadline next_deadline() const;

  nlohmann::json status(core::Time now, bool with_states = true) const;
  // The control socket's requests: "show", "summary" (no state listed), "states SLOT" (the
  // next page), "state ADDR";
  // empty for anything else.
  std::string answer(const std::string& request, core::Time now) const;
  const core::GatewayEngine& engine() const { return engine_; }
  const std::vector<std::unique_ptr<os::UdpSocket>>& sockets() const { return sockets_; }
  const IoCounters& io_counters() const { return datapath_.counters(); }

 private:
  GatewaySettings settings_;
  core::GatewayEngine engine_;
  std::vector<std::unique_ptr<os::UdpSocket>> sockets_;
  const Logger& log_;
  core::Time started_;
  DropReport drops_;
  GatewayDataPath datapath_;
  std::unique_ptr<os::GatewayFastPath> fast_;
  FastPathStatus fast_status_;
  void save_states(core::Time now);
  StateStore* store_ = nullptr;
  core::Time next_save_{};
};

}  // namespace m6t::app
