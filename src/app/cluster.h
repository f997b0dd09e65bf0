// A cluster of gateways grown on BGP (docs/deployment.md, "More than one gateway"): one
// description (the MN prefix split into slices, each with an IPv4 service address and its
// gateways ranked; the gateways; the home-side routers) turned into each node's BIRD 2
// configuration and each gateway's m6t settings (`m6t cluster FILE NODE`).
//
// The design: every gateway listens on every slice's service address; m6t writes the routes of
// the slices it serves into its announce table while it serves (app/announcer.h); BIRD learns
// that table and announces it over BGP with BFD, prepending its AS once per rank below the
// first; the routers send each slice's IPv4 (to the service address) and IPv6 (to the slice's
// part of the prefix) to its best-ranked live gateway. Nothing per MN and nothing per packet
// in BGP, no state copied between gateways: an MN moved to another gateway rebuilds its state
// there as the draft has it (its next packet creates a temporary state, the HA's answer
// activates it, §3), with the same binding (the same NAT mapping to the same service address).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/address.h"

namespace m6t::app {

struct ClusterRouter {
  std::string name;
  std::uint32_t as = 0;
  core::Ipv4Addr ipv4;  // its BGP session addresses, on the gateways' link
  core::Ipv6Addr ipv6;
};

struct ClusterGateway {
  std::string name;
  core::Ipv4Addr ipv4;  // its BGP session addresses (and BIRD router id)
  core::Ipv6Addr ipv6;
};

struct ClusterSlice {
  std::uint32_t index = 0;
  core::Ipv4Addr service;
  core::Ipv6Prefix part;            // from the prefix, slice-bits and index
  std::vector<std::size_t> ranked;  // indexes into Cluster::gateways, best first
};

struct Cluster {
  core::Ipv6Prefix prefix;
  unsigned slice_bits = 0;
  std::uint16_t port = 4500;
  std::uint32_t announce_table = 100;
  std::uint32_t gateway_as = 0;
  std::uint32_t bfd_interval_ms = 100;
  std::uint32_t bfd_multiplier = 3;
  std::uint32_t drain_ms = 1000;
  // The gateways' state creations at once per IPv4 address (--burst), when given: at least the
  // MNs behind one NAT address that may fail over together (docs/deployment.md).
  std::uint32_t burst = 0;
  std::vector<ClusterRouter> routers;
  std::vector<ClusterGateway> gateways;
  std::vector<ClusterSlice> slices;
};

// The description as TOML (its layout: examples/cluster.toml). An error is one line naming the
// file and line, as the daemons' configuration errors are.
std::variant<Cluster, std::string> parse_cluster(std::string_view text, const std::string& path);

// BIRD 2 configuration of node `name` (a gateway or a router); empty when no node has that
// name.
std::string bird_config(const Cluster& c, const std::string& name, const std::string& source);
// The [gateway] settings gateway `name` needs from the cluster (listen, announce, table,
// drain), to merge into its m6t configuration; empty when no gateway has that name.
std::string gateway_settings(const Cluster& c, const std::string& name, const std::string& source);

}  // namespace m6t::app
