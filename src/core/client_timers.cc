#include "core/client_timers.h"

#include <algorithm>

#include "core/client_engine.h"
#include "core/enum_names.h"

namespace m6t::core {

constexpr std::array<std::string_view, 4> kClientTimerNames = {"first_answer", "keepalive",
                                                               "gateway_lost", "backoff"};

std::string_view to_string(ClientTimer t) {
  return name_of(kClientTimerNames, t);
}

ClientTimers::ClientTimers(const ClientTimerConfig& config) : config_(config) {
  config_.max_unanswered = std::max<std::uint32_t>(config_.max_unanswered, 1);
}

void ClientTimers::uplink_changed(Time now) {
  debounce_since_ = now;
}

void ClientTimers::uplink_settled() {
  debounce_since_.reset();
}

void ClientTimers::attached(Time now) {
  last_tx_ = last_rx_ = now;
  awaiting_since_.reset();
  last_ka_sent_.reset();
  last_ka_answered_.reset();
  unanswered_ = 0;
}

void ClientTimers::packet_sent(Time now) {
  last_tx_ = now;
  if (!awaiting_since_) awaiting_since_ = now;
}

void ClientTimers::keepalive_sent(Time now) {
  ++unanswered_;
  last_ka_sent_ = now;
  last_tx_ = now;
}

void ClientTimers::answer_received(Time now, bool keepalive_answer) {
  last_rx_ = now;
  last_rx_any_ = now;
  awaiting_since_.reset();
  unanswered_ = 0;
  backoff_round_ = 0;
  if (keepalive_answer) last_ka_answered_ = now;
}

void ClientTimers::fold(std::optional<Time> last_sent, std::optional<Time> last_received,
                        std::optional<Time> awaiting_since) {
  if (last_received && *last_received > last_rx_) answer_received(*last_received, false);
  if (last_sent && *last_sent > last_tx_) {
    last_tx_ = *last_sent;
    // Sent after the last answer and not answered since: the probe waits from then.
    if (!awaiting_since_ && awaiting_since && *awaiting_since > last_rx_)
      awaiting_since_ = *awaiting_since;
  }
}

void ClientTimers::backoff_started(Time now, RandomSource& rng) {
  Duration base = config_.backoff_initial * (std::int64_t{1} << std::min(backoff_round_, 20u));
  base = std::min(base, config_.backoff_max);
  if (backoff_round_ < 32) ++backoff_round_;
  auto half = base.count() / 2;
  Duration delay(half + static_cast<Duration::rep>(rng.next_u64() % (half + 1)));
  backoff_until_ = now + delay;
}

Time ClientTimers::keepalive_deadline() const {
  if (unanswered_ > 0) return *last_ka_sent_ + config_.keepalive_retry;
  Time due = std::min(last_tx_, last_rx_) + config_.keepalive_interval;
  if (awaiting_since_) due = std::min(due, *awaiting_since_ + config_.probe_after);
  return due;
}

Deadline ClientTimers::next_deadline(ClientState state) const {
  Deadline d = next_sleep_check_;
  if (debounce_since_) d = earliest(d, debounce_deadline());
  switch (state) {
    case ClientState::kNoUplink:
      break;
    case ClientState::kBackoff:
      d = earliest(d, backoff_until_);
      break;
    case ClientState::kProbing:
      if (awaiting_since_) d = earliest(d, *awaiting_since_ + config_.first_answer_timeout);
      break;
    case ClientState::kUp:
      d = earliest(d, keepalive_deadline());
      break;
  }
  return d;
}

std::optional<ClientTimer> ClientTimers::due(ClientState state, Time now) const {
  switch (state) {
    case ClientState::kNoUplink:
      return std::nullopt;
    case ClientState::kBackoff:
      if (now >= backoff_until_) return ClientTimer::kBackoff;
      return std::nullopt;
    case ClientState::kProbing:
      if (awaiting_since_ && now >= *awaiting_since_ + config_.first_answer_timeout)
        return ClientTimer::kFirstAnswer;
      return std::nullopt;
    case ClientState::kUp:
      if (now < keepalive_deadline()) return std::nullopt;
      // The last unanswered keepalive's retry time passed: the gateway lost our state.
      return unanswered_ >= config_.max_unanswered ? ClientTimer::kGatewayLost
                                                   : ClientTimer::kKeepalive;
  }
  return std::nullopt;
}

void ClientTimers::reconfigure(const ClientTimerConfig& config) {
  config_ = config;
  config_.max_unanswered = std::max<std::uint32_t>(config_.max_unanswered, 1);
}

}  // namespace m6t::core
