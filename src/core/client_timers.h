// Every timer of the client, in one place (as the kernel WireGuard driver's timers.c). The
// client engine calls the event functions below at named moments; each timer is a deadline
// derived from what those events recorded, so none can be left armed by a forgotten path.
//
// | timer | armed or re-armed by | stopped by | when it is due |
// |---|---|---|---|
// | debounce (§3) | uplink_changed(): the OS reports an IPv4 view other than the one in use |
// uplink_settled(): the view reverted within the debounce time, or was applied | the view held for
// `debounce`: apply it (attach, re-attach with a new address, or detach) | | first answer (§2.1) |
// packet_sent() in the probing state, when nothing is awaited yet | answer_received(); attached() |
// nothing came back for `first_answer_timeout`: the next gateway entry (gateway_unreachable) | |
// keepalive (§2.3) | attached(), packet_sent(), answer_received() (idle since the older of the last
// packet sent and the last received) | leaving the up state | idle in either direction for
// `keepalive_interval`: send a keepalive | | probe | packet_sent() in the up state, when nothing is
// awaited yet | answer_received() | sent with no answer for `probe_after`: send a keepalive now |
// | keepalive retry | keepalive_sent() | answer_received(); attached() | the keepalive went
// unanswered for `keepalive_retry`: send another | | gateway liveness (§2.7) | keepalive_sent()
// counts unanswered keepalives | answer_received(); attached() | `max_unanswered` went unanswered
// and the last one's retry time passed: the next gateway entry (gateway_lost) | | back-off |
// backoff_started(): every gateway entry failed | attached() | bounded exponential delay with
// jitter over: start again with the first gateway (retry) | | sleep check | sleep_checked(): the
// daemon sampled CLOCK_BOOTTIME - CLOCK_MONOTONIC | never, once started | sample again, so that a
// resume from sleep is noticed (resume) | | path-MTU age | PathMtu (path_mtu.h), in path-MTU mode |
// attached() (a new path) | a learned MTU goes back to the configured one |
//
// Only the timers of the current state count: NoUplink has none but debounce and sleep check;
// Probing adds first answer; Up adds keepalive, probe, retry and liveness; Backoff adds back-off.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/random.h"
#include "core/time.h"
#include "core/wire.h"

namespace m6t::core {

using namespace std::chrono_literals;

enum class ClientState : std::uint8_t;  // client_engine.h

// The timers' durations: part of ClientConfig.
struct ClientTimerConfig {
  // §2.3: a keepalive when the tunnel has been idle in either direction this long.
  Duration keepalive_interval = wire::kDefaultKeepaliveInterval;
  // Sent packets with no answer for this long: check the gateway with a keepalive now rather
  // than at the next idle interval.
  Duration probe_after = 3s;
  // An unanswered keepalive is sent again after this long...
  Duration keepalive_retry = 1s;
  // ...and after this many unanswered in a row the gateway is taken for lost (§2.7).
  std::uint32_t max_unanswered = 3;
  // A new attachment whose first packets get no answer this long: next gateway entry.
  Duration first_answer_timeout = 6s;
  // IPv4 changes are applied once stable this long, so that a flap does not churn (§3).
  Duration debounce = 250ms;
  // When every gateway failed: waits from backoff_initial, doubling up to backoff_max.
  Duration backoff_initial = 1s;
  Duration backoff_max = 64s;
  // The host may sleep without CLOCK_MONOTONIC noticing: sampled this often.
  Duration sleep_check_interval = 2s;
};

// What an expired timer asks the engine to do.
enum class ClientTimer : std::uint8_t {
  kFirstAnswer,  // gateway_unreachable: next gateway
  kKeepalive,    // send a keepalive (idle, probe or retry)
  kGatewayLost,  // gateway_lost: next gateway
  kBackoff,      // retry from the first gateway
  kCount
};
std::string_view to_string(ClientTimer t);

class ClientTimers {
 public:
  explicit ClientTimers(const ClientTimerConfig& config);
  // A reload: every deadline is computed from the configuration when asked, so the new
  // intervals apply from now on (a keepalive due sooner is sent at the next timer).
  void reconfigure(const ClientTimerConfig& config);

  // --- events ----------------------------------------------------------------------------
  void uplink_changed(Time now);
  void uplink_settled();
  // A new attachment (new address, new socket): idle clocks start now, nothing is awaited, no
  // keepalive is outstanding, a back-off is over.
  void attached(Time now);
  // A packet from the host went to the gateway.
  void packet_sent(Time now);
  void keepalive_sent(Time now);
  // Anything from the gateway for our address: it holds our state (§2.3).
  void answer_received(Time now, bool keepalive_answer);
  // Every gateway failed: waits a bounded exponential delay with jitter, so that many MNs
  // behind one broken path do not retry in step.
  void backoff_started(Time now, RandomSource& rng);
  // A gateway answered, or the point of attachment changed: the next back-off starts short.
  void backoff_reset() { backoff_round_ = 0; }
  void sleep_checked(Time now) { next_sleep_check_ = now + config_.sleep_check_interval; }
  // What the kernel fast path saw of the tunnel's packets (client_engine.h, TunnelMirror):
  // the same events as packet_sent() and answer_received(), at the times they happened.
  void fold(std::optional<Time> last_sent, std::optional<Time> last_received,
            std::optional<Time> awaiting_since);

  // --- queries -----------------------------------------------------------------------------
  Deadline next_deadline(ClientState state) const;
  bool debounce_due(Time now) const { return debounce_since_ && now >= debounce_deadline(); }
  // The timer of `state` due at `now`, if any.
  std::optional<ClientTimer> due(ClientState state, Time now) const;
  bool sleep_check_due(Time now) const { return next_sleep_check_ && now >= *next_sleep_check_; }

  std::optional<Time> last_keepalive_sent() const { return last_ka_sent_; }
  std::optional<Time> last_keepalive_answered() const { return last_ka_answered_; }
  std::optional<Time> last_received() const { return last_rx_any_; }
  std::uint32_t unanswered_keepalives() const { return unanswered_; }
  Time backoff_until() const { return backoff_until_; }

 private:
  Time debounce_deadline() const { return *debounce_since_ + config_.debounce; }
  // The next keepalive of the up state: a retry while one is unanswered, else idle or probe.
  Time keepalive_deadline() const;

  ClientTimerConfig config_;
  std::optional<Time> debounce_since_;
  Time last_tx_{};
  Time last_rx_{};
  std::optional<Time> last_rx_any_;
  std::optional<Time> awaiting_since_;  // oldest packet sent since the last one received
  std::optional<Time> last_ka_sent_;
  std::optional<Time> last_ka_answered_;
  std::uint32_t unanswered_ = 0;
  std::uint32_t backoff_round_ = 0;
  Time backoff_until_{};
  std::optional<Time> next_sleep_check_;  // none until the daemon samples for the first time
};

}  // namespace m6t::core
