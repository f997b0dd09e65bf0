// Reload (SIGHUP, `systemctl reload`): the configuration read again as at start (the same
// file, the same command line over it) and checked by the same validator; what changed is
// split into the options a reload applies (OptionSpec::reloadable) and those that need a
// restart, which keep their running values and are named in the log at every reload until
// then. A file that does not validate changes nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/settings.h"

namespace m6t::app {

template <class S>
class ConfigReload {
 public:
  // Reads the file and the command line again, merged (the command line wins).
  using Reread = std::function<std::optional<SettingsError>(RawOptions& out)>;

  struct Result {
    std::optional<SettingsError> error;  // the running configuration stays
    S settings;                          // the running ones with the reloadable changes applied
    std::vector<std::string> applied;
    std::vector<std::string> needs_restart;
  };

  ConfigReload(const OptionTable<S>& table, Reread reread, RawOptions running, std::string source)
      : table_(table),
        reread_(std::move(reread)),
        running_(std::move(running)),
        source_(std::move(source)),
        loaded_at_(std::chrono::system_clock::now()) {}

  // `current` is what the daemon runs with.
  Result reload(const S& current) {
    Result r{std::nullopt, current, {}, {}};
    RawOptions next;
    if (reread_) r.error = reread_(next);
    if (r.error) return r;
    S next_settings;
    if (auto e = validate(next, next_settings)) {
      r.error = e;
      return r;
    }
    RawOptions merged = running_;
    for (const std::string& k : changed(next, current, next_settings)) {
      const Option<S>* o = table_.find(k);
      if (o && o->spec.reloadable) {
        r.applied.push_back(k);
        if (auto it = next.find(k); it != next.end())
          merged[k] = it->second;
        else
          merged.erase(k);
      } else {
        r.needs_restart.push_back(k);
      }
    }
    if (auto e = validate(merged, r.settings)) {  // cannot fail: each part validated alone
      r.error = e;
      return r;
    }
    running_ = std::move(merged);
    loaded_at_ = std::chrono::system_clock::now();
    return r;
  }

  const std::string& source() const { return source_; }
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }

 private:
  // Options whose value differs between what runs and what was read (an option only given
  // its default in one of them is no change).
  std::vector<std::string> changed(const RawOptions& next, const S& current,
                                   const S& next_settings) const {
    std::set<std::string> keys;
    for (const auto& [k, v] : running_)
      keys.insert(k);
    for (const auto& [k, v] : next)
      keys.insert(k);
    std::vector<std::string> out;
    for (const std::string& k : keys) {
      auto a = running_.find(k), b = next.find(k);
      const std::vector<std::string> none;
      const auto& va = a == running_.end() ? none : a->second.values;
      const auto& vb = b == next.end() ? none : b->second.values;
      if (va == vb) continue;
      const Option<S>* o = table_.find(k);
      if (o && o->show && o->show(current) == o->show(next_settings)) continue;
      out.push_back(k);
    }
    return out;
  }

  const OptionTable<S>& table_;
  Reread reread_;
  RawOptions running_;
  std::string source_;
  std::chrono::system_clock::time_point loaded_at_;
};

// "rate, home-agent" for a log line.
inline std::string option_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names)
    s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace m6t::app
