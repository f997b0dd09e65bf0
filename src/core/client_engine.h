// The MN's tunnel component (§2.3, §3, §2.5, §2.7): which tunnel address to hold, which
// gateway to use, when to send keepalives, and whether the gateway still answers.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/client_timers.h"
#include "core/drop.h"
#include "core/gcra.h"
#include "core/path_mtu.h"
#include "core/random.h"
#include "core/time.h"
#include "core/verdict.h"
#include "core/wire.h"

namespace m6t::core {

using namespace std::chrono_literals;

// Which timers run in each state: client_timers.h.
enum class ClientState : std::uint8_t {
  kNoUplink,  // no IPv4 connectivity: no tunnel address (§3)
  kProbing,   // address installed, the gateway has not answered yet
  kUp,        // the gateway answered in this attachment
  kBackoff,   // every gateway failed; waiting before starting over
};
std::string_view to_string(ClientState s);

enum class Liveness : std::uint8_t { kUnknown, kAlive, kSuspect, kDead };
std::string_view to_string(Liveness l);

enum class AttachReason : std::uint8_t {
  kUplinkUp,            // IPv4 connectivity appeared (§3)
  kUplinkChanged,       // new IPv4 address or default route: a new point of attachment (§3)
  kUplinkLost,          // IPv4 connectivity went away
  kResume,              // the host slept: the NAT mapping is gone
  kGatewayUnreachable,  // first packets of an attachment never answered: next gateway (§2.1)
  kGatewayLost,         // keepalives unanswered: the gateway lost our state (§2.3)
  kRetry,               // back-off over, starting over with the first gateway
  kShutdown,            // the daemon stops
};
std::string_view to_string(AttachReason r);

// IPv4 connectivity as the OS reports it on the uplink. Two equal values are the same point of
// attachment; anything else is a new one.
struct Uplink {
  bool connected = false;  // an IPv4 address and a default route
  Ipv4Addr address;
  Ipv4Addr router;  // the default route's next hop (0.0.0.0 on a point-to-point link)
  std::uint32_t ifindex = 0;
  bool operator==(const Uplink&) const = default;
};

// §2.5: clients sharing one /80 must never use the same 48-bit value at once. The daemon backs
// this with lock files; the core only asks.
class Random48Claims {
 public:
  virtual ~Random48Claims() = default;
  virtual bool claim(std::uint64_t value) = 0;
  virtual void release(std::uint64_t value) = 0;
};

// The timers' durations come from ClientTimerConfig (client_timers.h).
struct ClientConfig : ClientTimerConfig {
  Ipv6Prefix prefix;  // the MN's /80 (§2.2)
  std::vector<Endpoint4> gateways;
  std::uint32_t mtu = wire::kDefaultMtu;
  // Path-MTU mode: DF set toward the gateway, ICMPv4 "fragmentation needed" lowers the
  // tunnel's MTU; learned values age out after pmtu_age. A packet from the host over the
  // learned MTU is answered with a Packet Too Big, at most icmp_rate_per_s (burst icmp_burst).
  bool pmtu_discovery = false;
  Duration pmtu_age = wire::kDefaultPmtuAge;
  double icmp_rate_per_s = 100;
  std::uint32_t icmp_burst = 20;
  // CLOCK_BOOTTIME running ahead of CLOCK_MONOTONIC by more than this: the host slept.
  Duration suspend_threshold = 2s;
  std::size_t history_len = 16;
};

enum class Change : std::uint8_t { kUp, kDown, kChanged };
std::string_view to_string(Change c);

// One change of tunnel address, for the daemon (install/remove, run the hook) and for history.
struct ClientEvent {
  Change change = Change::kUp;
  AttachReason reason = AttachReason::kUplinkUp;
  Time at{};
  std::optional<Ipv6Addr> address;      // the new tunnel address (absent on kDown)
  std::optional<Ipv6Addr> old_address;  // the one it replaces (absent on kUp)
  Endpoint4 gateway;
  std::optional<Ipv4Addr> ipv4;  // the uplink's IPv4 address at the time, if connected
};

struct ClientCounters {
  Flow tun_in;
  Flow udp_in;
  Flow to_gateway;  // host -> gateway, keepalives excluded
  Flow to_host;     // gateway -> host
  Flow keepalives_sent;
  Flow keepalives_answered;
  std::uint64_t attachments = 0;
  std::uint64_t gateway_failures = 0;
  Flow too_big_sent;  // ICMPv6 Packet Too Big written toward the host
  std::uint64_t icmp_rate_limited = 0;
  PmtuCounters pmtu;
  DropCounters drops;
};

// The tunnel as the kernel fast path forwards it once the gateway has answered (§3): from the
// tunnel address to the gateway in use, within the path's MTU.
struct TunnelBinding {
  Ipv6Addr address;
  Endpoint4 gateway;
  std::uint32_t mtu = wire::kDefaultMtu;
  bool df = false;
};

// What the fast path saw since the tunnel was mirrored, on the core's monotonic clock.
struct TunnelActivity {
  Flow to_gateway;
  Flow to_host;
  std::optional<Time> last_sent;
  std::optional<Time> last_received;
  std::optional<Time> awaiting_since;  // oldest packet sent since the last one received
};

// The client's one tunnel mirrored outside the engine (the eBPF fast path): the engine stays
// the one authority and tells the mirror of every change.
class TunnelMirror {
 public:
  virtual ~TunnelMirror() = default;
  virtual void activated(const TunnelBinding& t) = 0;
  virtual void path_changed(const TunnelBinding& t) = 0;
  virtual void removed() = 0;
  virtual std::optional<TunnelActivity> activity() const = 0;
};

class ClientEngine {
 public:
  ClientEngine(const ClientConfig& config, RandomSource& rng, Random48Claims* claims = nullptr);

  // The OS's view of IPv4 connectivity, whenever it may have changed (§3).
  void set_uplink(const Uplink& uplink, Time now);
  // CLOCK_BOOTTIME - CLOCK_MONOTONIC, sampled by the daemon whenever sleep_check_due() (before
  // expire(): the sleep check's deadline is among next_deadline()'s until it is sampled); a
  // jump means the host slept.
  void observe_sleep_offset(Duration boot_minus_mono, Time now);
  bool sleep_check_due(Time now) const { return timers_.sleep_check_due(now); }
  // The daemon stops: release the address.
  void shutdown(Time now);
  // The tunnel is mirrored there while the gateway answers (nullptr: none).
  void set_mirror(TunnelMirror* mirror) { mirror_ = mirror; }
  const TunnelMirror* mirror() const { return mirror_; }

  // A packet from the host. One larger than the tunnel's current MTU (lowered in path-MTU
  // mode) is answered with a Packet Too Big toward the host (kToTun; the packet lives in the
  // engine until the next call), as a router on an IPv6 path would.
  Verdict on_tun(std::span<const std::uint8_t> packet, Time now);
  Verdict on_udp(const Endpoint4& from, std::span<const std::uint8_t> datagram, Time now);
  // An ICMPv4 "fragmentation needed" (or local EMSGSIZE) about a datagram to the gateway
  // (path-MTU mode): lowers the tunnel's MTU (PathMtu). A Packet Too Big for the quoted packet goes
  // to the host at once (kToTun) when it exceeds the new MTU (RFC 4213 §3.4).
  Verdict on_frag_needed(const FragNeeded& in, Time now);

  Deadline next_deadline() const;
  // Runs due timers. True when a keepalive must be sent now (keepalive_packet()).
  bool expire(Time now);

  // Address changes since the last call, oldest first.
  std::optional<ClientEvent> next_event();

  std::span<const std::uint8_t> keepalive_packet() const { return keepalive_; }
  ClientState state() const { return state_; }
  Liveness liveness() const;
  std::optional<Ipv6Addr> address() const;
  std::optional<Endpoint4> gateway() const;
  std::size_t gateway_index() const { return gateway_index_; }
  const Uplink& uplink() const { return uplink_; }
  std::optional<Time> last_keepalive_sent() const { return timers_.last_keepalive_sent(); }
  std::optional<Time> last_keepalive_answered() const { return timers_.last_keepalive_answered(); }
  std::optional<Time> last_received() const { return timers_.last_received(); }
  std::uint32_t unanswered_keepalives() const { return timers_.unanswered_keepalives(); }
  std::optional<Time> backoff_until() const;
  const std::deque<ClientEvent>& history() const { return history_; }
  const ClientCounters& counters() const { return counters_; }
  // Gateways given by name (§2.1 leaves their addressing to the operator): their addresses,
  // resolved by the daemon at each attachment, in the order given. The gateway in use keeps
  // its place if it is still in the list (its binding stays, §2.4); if it is gone, a new
  // attachment is made. While the list is empty (no name resolved yet) no attachment is made;
  // the first addresses attach at once when IPv4 is up.
  void set_gateways(std::vector<Endpoint4> gateways, Time now);

  // A reload (SIGHUP): the keepalive and liveness timers (§2.3, §2.7), the debounce (§3),
  // the back-off and the path-MTU ageing. The prefix, gateways, MTU and path-MTU mode of
  // `next` are ignored: the daemon names those as needing a restart.
  void reconfigure(const ClientConfig& next);

  const ClientConfig& config() const { return config_; }
  // The tunnel's path MTU: reset to the configured one at every attachment (a new IPv4 network
  // is a new path).
  const PathMtu& path_mtu() const { return path_; }

 private:
  Verdict drop(Drop d) {
    counters_.drops.add(d);
    return Verdict::dropped(d);
  }
  void apply_uplink(Time now);
  void attach(AttachReason reason, std::size_t gateway_index, Time now);
  void detach(AttachReason reason, Time now);
  void gateway_failed(AttachReason reason, Time now);
  void record(ClientEvent e);
  std::uint64_t draw_unclaimed();
  Verdict too_big(const Ipv6View& p, Time now);
  // Mirror bookkeeping: up (the gateway answered), path changes, the end of an attachment.
  void mirror_up(Time now);
  void mirror_path();
  void mirror_down();
  TunnelBinding binding() const;

  ClientConfig config_;
  RandomSource& rng_;
  Random48Claims* claims_;

  ClientState state_ = ClientState::kNoUplink;
  Uplink uplink_;
  std::optional<Uplink> pending_uplink_;  // waiting for the debounce timer
  std::optional<Duration> sleep_offset_;

  std::optional<std::uint64_t> random48_;
  Ipv6Addr address_;
  std::size_t gateway_index_ = 0;
  std::array<std::uint8_t, wire::kKeepaliveLen> keepalive_{};

  ClientTimers timers_;
  TunnelMirror* mirror_ = nullptr;
  bool mirrored_ = false;
  // While mirrored, what the fast path saw is read this often (and whenever a timer of the up
  // state is due): the probe of unanswered traffic needs the fast path's packets in time.
  Time next_mirror_read_{};
  std::size_t failures_ = 0;  // gateways failed in a row, none answering in between

  PathMtuConfig pmtu_;
  PathMtu path_;
  BucketShape icmp_shape_;
  Gcra icmp_bucket_;
  std::array<std::uint8_t, wire::kIcmpv6ErrorMaxLen> too_big_{};

  std::deque<ClientEvent> events_;
  std::deque<ClientEvent> history_;
  ClientCounters counters_;
};

}  // namespace m6t::core
