// The subcommands of the m6t binary (main.cc holds the table).
#pragma once

#include <string>

#include "app/reload.h"
#include "app/settings.h"

namespace m6t::app {

// Exit statuses: 0 success, 1 failure at run time, 2 bad usage/option/config or a daemon that
// could not start (nothing is left installed then).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// `reload` re-reads the configuration on SIGHUP (reload.h).
int run_gateway(const GatewaySettings& settings, ConfigReload<GatewaySettings>& reload);
int run_client(const ClientSettings& settings, ConfigReload<ClientSettings>& reload);

struct ShowOptions {
  bool json = false;
  bool metrics = false;  // Prometheus text (metrics.h)
  bool dump = false;     // tab-separated, one line per daemon and per state (as `wg show dump`)
  std::string iface;     // one daemon, by its TUN device; empty or "all": every one
  std::string state;     // one MN's state (its tunnel address)
  std::string control;   // empty: every socket in /run/m6t
};
int run_show(const ShowOptions& options);

struct PrefixOptions {
  std::string ula;  // empty: a fresh one
  int subnet = -1;  // -1: not given
  int mn_id = -1;
  int slice_bits = -1;  // with slice: the slice's prefix, and subnet counts within it
  int slice = -1;
};
int run_prefix(const PrefixOptions& options);

int run_check_config(const std::string& path);

// m6t cluster FILE NODE [--m6t]: NODE's BIRD configuration (or, with --m6t, a gateway's m6t
// settings) from a cluster description (cluster.h).
int run_cluster(const std::string& path, const std::string& node, bool m6t_settings);

}  // namespace m6t::app
