// The tunnel gateway (§2.4, §3, §6.1.3): decides, for each datagram from a MN and each packet
// from the home side, where it goes, and keeps the state table that makes those decisions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/address.h"
#include "core/drop.h"
#include "core/gcra.h"
#include "core/ipv6_packet.h"
#include "core/path_mtu.h"
#include "core/random.h"
#include "core/rate_limiter.h"
#include "core/state_file.h"
#include "core/state_table.h"
#include "core/time.h"
#include "core/verdict.h"
#include "core/wire.h"

namespace m6t::core {

struct GatewayConfig {
  Ipv6Prefix mn_prefix;               // §6.1.3: sources must lie inside it
  std::vector<Ipv6Addr> home_agents;  // §6.1.3: destinations must be one of them
  std::uint32_t mtu = wire::kDefaultMtu;
  // Path-MTU mode: DF set toward MNs, ICMPv4 "fragmentation needed" lowers the MTU
  // of that one MN's state; learned values age out after pmtu_age.
  bool pmtu_discovery = false;
  Duration pmtu_age = wire::kDefaultPmtuAge;
  StateTableConfig states;
  RateLimitConfig creation_rate;
  // Packet Too Big messages sent toward the home side, all MNs together.
  double icmp_rate_per_s = 100;
  std::uint32_t icmp_burst = 20;
  // Established MNs first: of the datagrams the daemon handles in one turn of its loop (a few
  // batches from one socket), at most this many may create states, a quarter of it while the
  // temporary table is more than half full. The rest of a burst of first packets is dropped
  // before any work (creation_budget): the datagrams of active states queued behind them are
  // reached sooner, and the MN whose first packet was deferred sends another (§3: first
  // packets are repeated until an answer comes).
  std::uint32_t creations_per_turn = 32;
  // Source of the gateway's ICMPv6 errors. Default: the MN prefix's own address (all host
  // bits zero), which no MN ever holds since the 48 random bits are never all zero.
  std::optional<Ipv6Addr> icmp_source;
};

// The datagram as the listening socket saw it.
struct UdpIn {
  Endpoint4 remote;  // the NAT's address and port
  Endpoint4 local;   // our address and port it was sent to
  std::uint16_t listener = 0;
  std::uint32_t ifindex = 0;  // the interface it arrived on (0: unknown); not part of a binding
};

// What a restart's restore did with the saved states (state_file.h).
struct RestoreCounts {
  std::size_t restored = 0;
  std::size_t expired = 0;    // their lifetime ran out while the gateway was away
  std::size_t foreign = 0;    // outside the prefix, or for an address no longer listened on
  std::size_t duplicate = 0;  // the same MN twice in the file
  std::size_t full = 0;       // beyond --max-states
};

struct GatewayCounters {
  Flow udp_in;        // every datagram received
  Flow tun_in;        // every packet read from the TUN device
  Flow to_home;       // MN -> TUN
  Flow to_mn;         // TUN -> MN
  Flow keepalives;    // keepalives answered
  Flow too_big_sent;  // ICMPv6 Packet Too Big written toward the home side
  std::uint64_t icmp_rate_limited = 0;
  PmtuCounters pmtu;
  DropCounters drops;
};

class GatewayEngine {
 public:
  GatewayEngine(const GatewayConfig& config, RandomSource& rng);

  // The states a batch of datagrams (or home-side packets) is for, brought into the cache
  // before the batch is handled (StateTable::prefetch).
  void prefetch(std::span<const Ipv6Addr> mns) const { states_.prefetch(mns); }
  // A new turn of the daemon's loop: the creation budget starts over. An engine used without
  // turns (begin_turn never called) has no budget.
  void begin_turn() {
    turn_creations_ = 0;
    in_turns_ = true;
  }
  // A datagram from the NAT side. `datagram` may be rewritten in place (keepalive answer).
  Verdict on_udp(const UdpIn& in, std::span<std::uint8_t> datagram, Time now);
  // A packet from the home side. `scratch` (kIcmpv6ErrorMaxLen bytes at least) receives a
  // Packet Too Big when the packet exceeds the MN's path MTU.
  Verdict on_tun(std::span<const std::uint8_t> packet, Time now, std::span<std::uint8_t> scratch);

  // An ICMPv4 "fragmentation needed" (or a local EMSGSIZE) for a datagram sent toward a MN
  // (path-MTU mode). The quoted IPv6 destination names the state, whose binding must match the
  // datagram's destination and socket; that state's path MTU is lowered (PathMtu). When the
  // quoted packet exceeds the path's MTU, the verdict is a Packet Too Big toward its sender,
  // written to `scratch`: RFC 4213 §3.4 asks tunnel ends to relay IPv4 errors to the IPv6
  // source, and the sender learns at once instead of after a retransmission timeout.
  Verdict on_frag_needed(const FragNeeded& in, Time now, std::span<std::uint8_t> scratch);

  // Learned path MTUs age out lazily, when their state is next used (no timer per state).
  Deadline next_deadline() const { return states_.next_deadline(); }
  void expire(Time now) { states_.expire(now); }

  // Lowers (or restores) the MTU toward one MN (§2.6); clamped to [1280, configured MTU].
  void set_mn_mtu(const Ipv6Addr& mn, std::uint32_t mtu);

  // Active states are mirrored there from now on (the eBPF fast path; state_table.h).
  void set_mirror(StateMirror* mirror) { states_.set_mirror(mirror); }

  // A reload (SIGHUP): what can change without losing a state: the home agents (§6.1.3),
  // lifetimes (§2.4, §6.1.3; every state's deadline runs from its own times with the new
  // values), the temporary cap, the creation rate and burst, the path-MTU ageing. The rest of
  // `next` (prefix, MTU, path-MTU mode, max_states) is ignored: the daemon names those as
  // needing a restart.
  void reconfigure(const GatewayConfig& next);
  // A listen address a reload took away: its states go (§2.4: their bindings name it); the
  // MNs notice at their next keepalive and attach anew (§2.7). Returns how many.
  std::size_t remove_listener(std::uint16_t listener) { return states_.remove_listener(listener); }

  // A restart without losing an MN (state_file.h): the active states as they stand (their
  // remaining lifetimes from `now`), and their restoration at the next start, when the time
  // the gateway was away (wall clock) has not outlived them. `listeners` are the addresses
  // the daemon listens on, in listener order: a saved binding names one by its address, and a
  // state whose address is no longer served is not restored (§2.4: its binding cannot move).
  // `fold`: first fold in what the mirror saw of each state (exact lifetimes, one mirror query
  // per state: for the last save at a stop); without it the remaining lifetimes are lower
  // bounds (the mirror's packets since the state's last requeue are not counted), which is
  // what the periodic saves take, so that they cost the loop no query per state.
  StateSnapshot snapshot(Time now, std::int64_t now_unix_ms, bool fold = true);
  RestoreCounts restore(const StateSnapshot& saved, std::span<const Endpoint4> listeners,
                        std::int64_t now_unix_ms, Time now);

  const GatewayConfig& config() const { return config_; }
  const GatewayCounters& counters() const { return counters_; }
  const StateTable& states() const { return states_; }
  const RateLimiter& rate_limiter() const { return rate_; }

 private:
  bool is_home_agent(const Ipv6Addr& a) const;
  Verdict drop(Drop d) {
    counters_.drops.add(d);
    return Verdict::dropped(d);
  }
  Verdict answer_keepalive(const UdpIn& in, std::span<std::uint8_t> datagram, const Ipv6View& p,
                           Time now);
  Verdict too_big(const Ipv6View& p, const State& s, Time now, std::span<std::uint8_t> scratch);
  void age_path(State& s, Time now) {
    if (s.path.expire(pmtu_, now)) {
      ++counters_.pmtu.aged;
      path_changed(s);
    }
  }
  // An active state's mirror learns of its new path MTU.
  void path_changed(const State& s) {
    if (s.kind == StateKind::kActive && states_.mirror()) states_.mirror()->path_changed(s);
  }

  GatewayConfig config_;
  PathMtuConfig pmtu_;
  Ipv6Addr icmp_source_;
  StateTable states_;
  RateLimiter rate_;
  BucketShape icmp_shape_;
  Gcra icmp_bucket_;
  GatewayCounters counters_;
  std::uint32_t turn_creations_ = 0;
  bool in_turns_ = false;
};

}  // namespace m6t::core
