// Metrics in the Prometheus text exposition format (version 0.0.4), rendered from the status
// documents of `m6t show --json` (status_model.h), one or many daemons: `m6t show --metrics`
// and the daemons' optional HTTP endpoint (--metrics-listen) give the same text. Every
// sample carries the daemon's role and TUN device as labels; docs/operations.md says what
// each family means.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace m6t::app {

// `daemons`: a list of status documents (or one). Families appear once each, with HELP and
// TYPE, whatever the number of daemons.
std::string prometheus_text(const nlohmann::json& daemons);

}  // namespace m6t::app
