#include "core/client_engine.h"

#include <algorithm>

#include "core/enum_names.h"
#include "core/ipv6_packet.h"

namespace m6t::core {

constexpr std::array<std::string_view, 4> kClientStateNames = {"no_uplink", "probing", "up",
                                                               "backoff"};

std::string_view to_string(ClientState s) {
  return name_of(kClientStateNames, s);
}

constexpr std::array<std::string_view, 4> kLivenessNames = {"unknown", "alive", "suspect", "dead"};

std::string_view to_string(Liveness l) {
  return name_of(kLivenessNames, l);
}

constexpr std::array<std::string_view, 8> kAttachReasonNames = {
    "uplink_up",           "uplink_changed", "uplink_lost", "resume",
    "gateway_unreachable", "gateway_lost",   "retry",       "shutdown"};

std::string_view to_string(AttachReason r) {
  return name_of(kAttachReasonNames, r);
}

constexpr std::array<std::string_view, 3> kChangeNames = {"up", "down", "changed"};

std::string_view to_string(Change c) {
  return name_of(kChangeNames, c);
}

ClientEngine::ClientEngine(const ClientConfig& config, RandomSource& rng, Random48Claims* claims)
    : config_(config),
      rng_(rng),
      claims_(claims),
      timers_(config),
      pmtu_{config.mtu, config.pmtu_discovery, config.pmtu_age},
      path_(PathMtu::initial(pmtu_)),
      icmp_shape_(BucketShape::of(config.icmp_rate_per_s, config.icmp_burst)) {}

std::optional<Ipv6Addr> ClientEngine::address() const {
  if (!random48_) return std::nullopt;
  return address_;
}

std::optional<Endpoint4> ClientEngine::gateway() const {
  if (!random48_ || config_.gateways.empty()) return std::nullopt;
  return config_.gateways[gateway_index_];
}

std::optional<Time> ClientEngine::backoff_until() const {
  if (state_ != ClientState::kBackoff) return std::nullopt;
  return timers_.backoff_until();
}

Liveness ClientEngine::liveness() const {
  switch (state_) {
    case ClientState::kNoUplink:
    case ClientState::kProbing:
      return Liveness::kUnknown;
    case ClientState::kBackoff:
      return Liveness::kDead;
    case ClientState::kUp:
      return timers_.unanswered_keepalives() == 0 ? Liveness::kAlive : Liveness::kSuspect;
  }
  return Liveness::kUnknown;
}

std::optional<ClientEvent> ClientEngine::next_event() {
  if (events_.empty()) return std::nullopt;
  ClientEvent e = events_.front();
  events_.pop_front();
  return e;
}

void ClientEngine::record(ClientEvent e) {
  if (uplink_.connected) e.ipv4 = uplink_.address;
  events_.push_back(e);
  history_.push_back(e);
  while (history_.size() > config_.history_len)
    history_.pop_front();
}

std::uint64_t ClientEngine::draw_unclaimed() {
  // §2.5: "some local synchronization is required to prevent the simultaneous use of
  // identical 48 bits random values". 64 refusals in a row out of 2^48 values cannot happen
  // unless the claim store is broken; the last draw is then used rather than no address.
  std::uint64_t v = 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    v = draw_random48(rng_);
    if (random48_ && v == *random48_) continue;  // §3: a *new* value for a new attachment
    if (!claims_ || claims_->claim(v)) return v;
  }
  return v;
}

void ClientEngine::attach(AttachReason reason, std::size_t gateway_index, Time now) {
  std::optional<Ipv6Addr> old = address();
  std::uint64_t fresh = draw_unclaimed();
  if (random48_ && claims_) claims_->release(*random48_);
  random48_ = fresh;
  address_ = make_tunnel_address(config_.prefix, fresh);
  gateway_index_ = config_.gateways.empty() ? 0 : gateway_index % config_.gateways.size();
  state_ = ClientState::kProbing;
  mirror_down();  // a new address and socket: the old binding is gone (§3)
  timers_.attached(now);
  path_ = PathMtu::initial(pmtu_);
  write_keepalive(keepalive_, address_);
  ++counters_.attachments;
  record({old ? Change::kChanged : Change::kUp, reason, now, address_, old,
          config_.gateways.empty() ? Endpoint4{} : config_.gateways[gateway_index_], std::nullopt});
}

void ClientEngine::detach(AttachReason reason, Time now) {
  state_ = ClientState::kNoUplink;
  mirror_down();
  if (!random48_) return;
  if (claims_) claims_->release(*random48_);
  random48_.reset();
  record({Change::kDown, reason, now, std::nullopt, address_,
          config_.gateways.empty() ? Endpoint4{} : config_.gateways[gateway_index_], std::nullopt});
}

void ClientEngine::gateway_failed(AttachReason reason, Time now) {
  ++counters_.gateway_failures;
  std::size_t next = gateway_index_ + 1;
  if (reason == AttachReason::kGatewayLost) {
    // The gateway answered before, so the path worked: most likely it lost our state
    // (restart). Start over at once with a new address so that MIPv6 re-registers.
    failures_ = 1;
    attach(reason, next, now);
    return;
  }
  if (++failures_ < config_.gateways.size()) {
    attach(reason, next, now);  // §2.1: the service "may be available on different ports"
    return;
  }
  // Every entry failed: back off (client_timers.h). The address stays: should the path heal,
  // its traffic flows again at once.
  failures_ = 0;
  state_ = ClientState::kBackoff;
  mirror_down();
  timers_.backoff_started(now, rng_);
}

TunnelBinding ClientEngine::binding() const {
  return {address_, config_.gateways[gateway_index_], path_.mtu, path_.df};
}

void ClientEngine::mirror_up(Time now) {
  if (!mirror_ || mirrored_ || state_ != ClientState::kUp || pending_uplink_) return;
  mirrored_ = true;
  next_mirror_read_ = now + config_.probe_after;
  mirror_->activated(binding());
}

void ClientEngine::mirror_path() {
  if (mirrored_) mirror_->path_changed(binding());
}

void ClientEngine::mirror_down() {
  if (!mirrored_) return;
  mirrored_ = false;
  mirror_->removed();
}

void ClientEngine::set_uplink(const Uplink& uplink, Time now) {
  const Uplink& target = pending_uplink_ ? *pending_uplink_ : uplink_;
  if (uplink == target) return;
  if (uplink == uplink_) {
    pending_uplink_.reset();  // a flap that reverted within the debounce time
    timers_.uplink_settled();
    mirror_up(now);
    return;
  }
  pending_uplink_ = uplink;
  timers_.uplink_changed(now);
  // Only a settled attachment is mirrored: the fast path must never send from an IPv4
  // address the host may no longer have. The user-space path takes over until the change
  // is applied (or reverts).
  mirror_down();
}

void ClientEngine::observe_sleep_offset(Duration boot_minus_mono, Time now) {
  bool slept = sleep_offset_ && boot_minus_mono - *sleep_offset_ >= config_.suspend_threshold;
  sleep_offset_ = boot_minus_mono;
  timers_.sleep_checked(now);
  // A sleeping host's NAT mapping has expired and its network may be another one: treat the
  // resume as a new attachment.
  if (slept && random48_) {
    timers_.backoff_reset();
    failures_ = 0;
    attach(AttachReason::kResume, 0, now);
  }
}

void ClientEngine::shutdown(Time now) {
  pending_uplink_.reset();
  timers_.uplink_settled();
  detach(AttachReason::kShutdown, now);
}

Deadline ClientEngine::next_deadline() const {
  Deadline d = earliest(path_.next_deadline(), timers_.next_deadline(state_));
  return mirrored_ ? earliest(d, next_mirror_read_) : d;
}

void ClientEngine::apply_uplink(Time now) {
  Uplink u = *pending_uplink_;
  pending_uplink_.reset();
  timers_.uplink_settled();
  bool changed = u != uplink_;
  uplink_ = u;
  timers_.backoff_reset();
  failures_ = 0;
  if (!u.connected) {
    detach(AttachReason::kUplinkLost, now);  // §3: no IPv4, no tunnel address
  } else if (config_.gateways.empty()) {
    // A gateway name not resolved yet: set_gateways attaches once it is.
  } else if (!random48_) {
    attach(AttachReason::kUplinkUp, 0, now);
  } else if (changed) {
    attach(AttachReason::kUplinkChanged, 0, now);  // §3: new random value per attachment
  }
}

bool ClientEngine::expire(Time now) {
  if (path_.expire(pmtu_, now)) {
    ++counters_.pmtu.aged;
    mirror_path();
  }
  if (pending_uplink_ && timers_.debounce_due(now)) apply_uplink(now);
  // The fast path's packets count before a timer of the up state acts (client_timers.h).
  if (mirrored_ && (now >= next_mirror_read_ || timers_.due(state_, now))) {
    if (auto seen = mirror_->activity())
      timers_.fold(seen->last_sent, seen->last_received, seen->awaiting_since);
    next_mirror_read_ = now + config_.probe_after;
  }
  switch (timers_.due(state_, now).value_or(ClientTimer::kCount)) {
    case ClientTimer::kBackoff:
      attach(AttachReason::kRetry, 0, now);
      break;
    case ClientTimer::kFirstAnswer:
      gateway_failed(AttachReason::kGatewayUnreachable, now);
      break;
    case ClientTimer::kGatewayLost:
      gateway_failed(AttachReason::kGatewayLost, now);
      break;
    case ClientTimer::kKeepalive:
      timers_.keepalive_sent(now);
      counters_.keepalives_sent.add(keepalive_.size());
      return true;
    case ClientTimer::kCount:
      break;
  }
  return false;
}

Verdict ClientEngine::on_tun(std::span<const std::uint8_t> packet, Time now) {
  counters_.tun_in.add(packet.size());
  if (!random48_) return drop(Drop::kNotAttached);
  auto decoded = decode_ipv6(packet, config_.mtu);
  if (!decoded) return drop(decoded.error());
  const Ipv6View& p = *decoded;
  // The gateway would drop anything else (§6.1.3); dropping here keeps it off the air and
  // keeps the host's link-scoped chatter (MLD, router solicitations) inside the host.
  if (!p.src_is(address_)) return drop(Drop::kSrcNotTunnelAddress);
  Ipv6Addr dst = p.dst();
  if (dst.is_multicast() || dst.is_link_local()) return drop(Drop::kDstInvalid);
  if (path_.expire(pmtu_, now)) {
    ++counters_.pmtu.aged;
    mirror_path();
  }
  if (p.size() > path_.mtu) return too_big(p, now);
  timers_.packet_sent(now);
  counters_.to_gateway.add(packet.size());
  return {Action::kToUdp, Drop::kCount, Binding{config_.gateways[gateway_index_], {}, 0}, packet,
          path_.df};
}

Verdict ClientEngine::too_big(const Ipv6View& p, Time now) {
  counters_.drops.add(Drop::kTooBig);
  if (!icmp_bucket_.allow(icmp_shape_, now)) {
    ++counters_.icmp_rate_limited;
    return Verdict::dropped(Drop::kTooBig);
  }
  // The source is the /80's own address (all random bits zero), which no tunnel address ever
  // is (draw_random48 never draws 0): the host must not take the error for its own packet.
  std::size_t n = write_packet_too_big(too_big_, config_.prefix.addr, p, path_.mtu);
  if (n == 0) return Verdict::dropped(Drop::kTooBig);
  counters_.too_big_sent.add(n);
  return {Action::kToTun, Drop::kTooBig, {}, std::span(too_big_).first(n)};
}

Verdict ClientEngine::on_frag_needed(const FragNeeded& in, Time now) {
  ++counters_.pmtu.frag_needed;
  if (!config_.pmtu_discovery) return Verdict::consumed();
  auto quoted = decode_quoted_ipv6(in.quote);
  // One path only: the datagram must have gone to the gateway in use, from our address.
  if (!random48_ || in.remote != config_.gateways[gateway_index_] || !quoted ||
      !quoted->head.src_is(address_)) {
    ++counters_.pmtu.unattributed;
    return Verdict::consumed();
  }
  counters_.pmtu.count(path_.on_frag_needed(pmtu_, in.next_hop_mtu, quoted->original_len, now));
  mirror_path();
  if (quoted->original_len <= path_.mtu) return Verdict::consumed();
  if (!icmp_bucket_.allow(icmp_shape_, now)) {
    ++counters_.icmp_rate_limited;
    return Verdict::consumed();
  }
  std::size_t n = write_packet_too_big(too_big_, config_.prefix.addr, quoted->head, path_.mtu);
  if (n == 0) return Verdict::consumed();
  counters_.too_big_sent.add(n);
  return {Action::kToTun, Drop::kCount, {}, std::span(too_big_).first(n)};
}

Verdict ClientEngine::on_udp(const Endpoint4& from, std::span<const std::uint8_t> datagram,
                             Time now) {
  counters_.udp_in.add(datagram.size());
  if (!random48_) return drop(Drop::kNotAttached);
  if (from != config_.gateways[gateway_index_]) return drop(Drop::kNotFromGateway);
  auto decoded = decode_ipv6(datagram, config_.mtu);
  if (!decoded) return drop(decoded.error());
  const Ipv6View& p = *decoded;
  if (!p.dst_is(address_)) return drop(Drop::kDstNotTunnelAddress);

  bool keepalive_answer = is_keepalive_reply(p);
  // A link-local or multicast source would make the host take the tunnel for a link and
  // accept, say, Router Advertisements from whoever can spoof the gateway's address.
  Ipv6Addr src = p.src();
  if (!keepalive_answer &&
      (src.is_link_local() || src.is_multicast() || src.is_unspecified() || src.is_loopback()))
    return drop(Drop::kSrcInvalid);

  // Anything from the gateway for our address proves it holds our state (§2.3).
  timers_.answer_received(now, keepalive_answer);
  failures_ = 0;
  state_ = ClientState::kUp;
  mirror_up(now);
  if (keepalive_answer) {
    counters_.keepalives_answered.add(datagram.size());
    return {Action::kConsumed, Drop::kCount, {}, {}};
  }
  counters_.to_host.add(datagram.size());
  return {Action::kToTun, Drop::kCount, {}, datagram};
}

void ClientEngine::reconfigure(const ClientConfig& next) {
  static_cast<ClientTimerConfig&>(config_) = static_cast<const ClientTimerConfig&>(next);
  config_.pmtu_age = next.pmtu_age;
  pmtu_.age = next.pmtu_age;
  timers_.reconfigure(config_);
}

void ClientEngine::set_gateways(std::vector<Endpoint4> gateways, Time now) {
  std::optional<Endpoint4> in_use;
  if (random48_ && !config_.gateways.empty()) in_use = config_.gateways[gateway_index_];
  config_.gateways = std::move(gateways);
  if (config_.gateways.empty()) {
    if (random48_) detach(AttachReason::kGatewayUnreachable, now);
    return;
  }
  if (in_use) {
    auto it = std::find(config_.gateways.begin(), config_.gateways.end(), *in_use);
    if (it != config_.gateways.end()) {
      gateway_index_ = static_cast<std::size_t>(it - config_.gateways.begin());
    } else {
      failures_ = 0;
      timers_.backoff_reset();
      attach(AttachReason::kRetry, 0, now);  // its name no longer gives its address
    }
    return;
  }
  if (!random48_ && uplink_.connected && !pending_uplink_) attach(AttachReason::kUplinkUp, 0, now);
}

}  // namespace m6t::core
