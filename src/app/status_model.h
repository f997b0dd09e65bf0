// The status model: what `m6t show` reports, as the daemons answer it in JSON (stable names,
// for scripts). status_text.h renders it for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "app/reload.h"
#include "app/settings.h"
#include "core/client_engine.h"
#include "core/gateway_engine.h"

namespace m6t::app {

// `m6t show --json` (docs/show.md): its schema's version.
inline constexpr int kShowSchemaVersion = 1;
// States in one answer of the control socket: `show` gives the first page and "states_next",
// the slot to ask "states SLOT" from; m6t show asks until it is null, so every state is
// listed while no answer holds more than this many.
inline constexpr std::size_t kStatesPerPage = 10000;

using WallTime = std::chrono::system_clock::time_point;
// A monotonic time point on the wall clock, from one reading of both (`now`, `wall_now`).
WallTime at_wall(core::Time t, core::Time now, WallTime wall_now);

nlohmann::json flow_json(const core::Flow& f);
nlohmann::json drops_json(const core::DropCounters& d);
// With a mirror (the fast path), each active state's counters and idle time include what the
// mirror forwarded for it.
nlohmann::json gateway_status(const core::GatewayEngine& engine, const GatewaySettings& settings,
                              core::Time started, core::Time now,
                              const core::StateMirror* mirror = nullptr,
                              WallTime wall_now = std::chrono::system_clock::now(),
                              bool with_states = true);
// {"states": [...], "states_next": SLOT or null}: the page from slot `from`.
nlohmann::json gateway_states_page(const core::GatewayEngine& engine,
                                   const GatewaySettings& settings, core::Time now,
                                   WallTime wall_now, const core::StateMirror* mirror,
                                   std::uint32_t from);
// One MN's state, or null.
nlohmann::json gateway_state(const core::GatewayEngine& engine, const GatewaySettings& settings,
                             core::Time now, WallTime wall_now, const core::StateMirror* mirror,
                             const core::Ipv6Addr& mn);
nlohmann::json client_status(const core::ClientEngine& engine, const ClientSettings& settings,
                             core::Time started, core::Time now,
                             WallTime wall_now = std::chrono::system_clock::now());

// Absolute times beside the relative ones: "2026-12-02T01:00:00Z" and seconds since 1970.
std::string iso8601(std::chrono::system_clock::time_point t);
std::int64_t unix_seconds(std::chrono::system_clock::time_point t);

// Where the running configuration came from and when it was loaded (at start or by the last
// reload that applied): {"source": "/etc/m6t/gateway.toml", "loaded": "2026-12-02T01:00:00Z",
// "loaded_unix": 1796173200}.
template <class S>
nlohmann::json config_json(const ConfigReload<S>& r) {
  const auto t = r.loaded_at();
  return {{"source", r.source()}, {"loaded", iso8601(t)}, {"loaded_unix", unix_seconds(t)}};
}
// One line for the service manager's STATUS= (`systemctl status`): "12 active, 3 temporary
// states"; "up: fd00:..:1 via 203.0.113.2:4500" or "waiting for IPv4".
std::string gateway_status_line(const core::GatewayEngine& engine);
std::string client_status_line(const core::ClientEngine& engine);

}  // namespace m6t::app
