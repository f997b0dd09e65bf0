// `m6t show` for people: the status model (status_model.h) of either daemon as text.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace m6t::app {

// Human-readable rendering of either document (dispatches on "role").
std::string format_status(const nlohmann::json& status);

}  // namespace m6t::app
