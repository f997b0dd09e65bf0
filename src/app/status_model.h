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

}  // namespace m6t::app
