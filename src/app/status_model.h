// The status model: what `m6t show` reports, as the daemons answer it in JSON (stable names,
// for scripts). status_text.h renders it for people.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "app/settings.h"
#include "core/client_engine.h"
#include "core/gateway_engine.h"

namespace m6t::app {

// States listed in one answer; the rest are counted in "states_total".
inline constexpr std::size_t kMaxStatesShown = 10000;

nlohmann::json flow_json(const core::Flow& f);
nlohmann::json drops_json(const core::DropCounters& d);
// With a mirror (the fast path), each active state's counters and idle time include what the
// mirror forwarded for it.
nlohmann::json gateway_status(const core::GatewayEngine& engine, const GatewaySettings& settings,
                              core::Time started, core::Time now,
                              const core::StateMirror* mirror = nullptr);
nlohmann::json client_status(const core::ClientEngine& engine, const ClientSettings& settings,
                             core::Time started, core::Time now);

// One line for the service manager's STATUS= (`systemctl status`): "12 active, 3 temporary
// states"; "up: fd00:..:1 via 203.0.113.2:4500" or "waiting for IPv4".
std::string gateway_status_line(const core::GatewayEngine& engine);
std::string client_status_line(const core::ClientEngine& engine);

}  // namespace m6t::app
