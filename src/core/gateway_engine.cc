#include "core/gateway_engine.h"

#include <algorithm>
#include <set>

#include "core/ipv6_packet.h"

namespace m6t::core {

namespace {

// §6.1.3 sanity checks on a source: only a unicast address can own a binding.
bool bad_source(const Ipv6Addr& a) {
  return a.is_multicast() || a.is_link_local() || a.is_loopback() || a.is_unspecified() ||
         a.is_v4_mapped();
}

Binding binding_of(const UdpIn& in) {
  return Binding{in.remote, in.local, in.listener};
}

}  // namespace

GatewayEngine::GatewayEngine(const GatewayConfig& config, RandomSource& rng)
    : config_(config),
      pmtu_{config.mtu, config.pmtu_discovery, config.pmtu_age},
      icmp_source_(config.icmp_source.value_or(config.mn_prefix.addr)),
      states_(config.states, SipKey::random(rng)),
      rate_(config.creation_rate, SipKey::random(rng)),
      icmp_shape_(BucketShape::of(config.icmp_rate_per_s, config.icmp_burst)) {}

bool GatewayEngine::is_home_agent(const Ipv6Addr& a) const {
  return std::find(config_.home_agents.begin(), config_.home_agents.end(), a) !=
         config_.home_agents.end();
}

Verdict GatewayEngine::on_udp(const UdpIn& in, std::span<std::uint8_t> datagram, Time now) {
  states_.expire(now);
  counters_.udp_in.add(datagram.size());
  // §2.6, path-MTU mode: nothing larger than the tunnel MTU is written to the TUN device.
  auto decoded = decode_ipv6(datagram, config_.mtu);
  if (!decoded) return drop(decoded.error());
  const Ipv6View& p = *decoded;

  if (is_keepalive(p)) return answer_keepalive(in, datagram, p, now);

  Ipv6Addr src = p.src();
  if (bad_source(src)) return drop(Drop::kSrcInvalid);
  if (!config_.mn_prefix.contains(src)) return drop(Drop::kSrcOutsidePrefix);
  if (!is_home_agent(p.dst())) return drop(Drop::kDstNotHomeAgent);

  Binding b = binding_of(in);
  State* s = states_.find(src);
  if (s) {
    // §2.4: "there is a mismatch in IPv4-related information, the packet should be dropped
    // and no modification to existing should occur".
    if (s->binding != b) return drop(Drop::kBindingMismatch);
  } else {
    const auto& st = config_.states;
    const std::uint32_t budget = states_.temporary_count() * 2 > st.max_temp_states
                                     ? std::max<std::uint32_t>(config_.creations_per_turn / 4, 1)
                                     : config_.creations_per_turn;
    if (in_turns_ && turn_creations_ >= budget) return drop(Drop::kCreationBudget);
    ++turn_creations_;
    // §6.1.3: creation is rate-limited per IPv4 address, "not considering the source port".
    if (!rate_.allow(in.remote.addr, now)) return drop(Drop::kRateLimited);
    auto created = states_.create_temporary(src, b, now);
    if (!created) return drop(created.error());
    s = *created;
    s->path = PathMtu::initial(pmtu_);
    s->ifindex = in.ifindex;
  }
  states_.on_from_mn(*s, datagram.size(), now);
  counters_.to_home.add(datagram.size());
  return {Action::kToTun, Drop::kCount, {}, datagram};
}

Verdict GatewayEngine::answer_keepalive(const UdpIn& in, std::span<std::uint8_t> datagram,
                                        const Ipv6View& p, Time now) {
  // §2.3: "It verifies an active state exists for the source address in the packet and that
  // the IPv4 parameters match the state. ... Otherwise, it silently drops the packet."
  State* s = states_.find(p.src());
  if (!s) return drop(Drop::kKeepaliveNoState);
  if (s->binding != binding_of(in)) return drop(Drop::kBindingMismatch);
  if (s->kind != StateKind::kActive) return drop(Drop::kKeepaliveNotActive);
  states_.on_from_mn(*s, datagram.size(), now);
  make_keepalive_reply_in_place(datagram);
  states_.on_to_mn(*s, datagram.size(), now);
  counters_.keepalives.add(datagram.size());
  age_path(*s, now);
  return {Action::kToUdp, Drop::kCount, s->binding, datagram, s->path.df};
}

Verdict GatewayEngine::on_tun(std::span<const std::uint8_t> packet, Time now,
                              std::span<std::uint8_t> scratch) {
  states_.expire(now);
  counters_.tun_in.add(packet.size());
  auto decoded = decode_ipv6(packet, wire::kMaxDatagram);
  if (!decoded) return drop(decoded.error());
  const Ipv6View& p = *decoded;

  Ipv6Addr dst = p.dst();
  // Only the host itself puts link-scoped packets into the TUN device: with forwarding on, the
  // kernel still sends MLD reports for ff02::2 on it. §2.4 forwards to MNs by unicast state
  // only, so they go nowhere; counted apart so that they are not mistaken for misrouting.
  if (dst.is_multicast() || dst.is_link_local()) return drop(Drop::kDstInvalid);
  if (!config_.mn_prefix.contains(dst)) return drop(Drop::kDstOutsidePrefix);
  State* s = states_.find(dst);
  if (!s) return drop(Drop::kNoState);
  if (s->kind == StateKind::kTemporary) {
    // §3: the HA's answer activates the state. Anyone else's packet must not, or any host of
    // the home side could keep bindings alive for sources that never reached the HA.
    if (!is_home_agent(p.src())) return drop(Drop::kTempNotFromHomeAgent);
    states_.activate(*s, now);
  }
  // Once active, packets from any home-side source go through: the ICMPv6 errors of routers
  // between us and the HA (PMTUD at the IPv6 level, §2.6) must reach the MN.
  age_path(*s, now);
  if (p.size() > s->path.mtu) return too_big(p, *s, now, scratch);
  states_.on_to_mn(*s, p.size(), now);
  counters_.to_mn.add(p.size());
  return {Action::kToUdp, Drop::kCount, s->binding, packet, s->path.df};
}

Verdict GatewayEngine::on_frag_needed(const FragNeeded& in, Time now,
                                      std::span<std::uint8_t> scratch) {
  ++counters_.pmtu.frag_needed;
  if (!config_.pmtu_discovery) return Verdict::consumed();
  states_.expire(now);
  // Only the quoted packet tells which MN the datagram was for: the NAT's address and port
  // are not a key of the table, and several MNs may share one NAT address. A router quoting
  // less than the IPv6 header (RFC 792's minimum) leaves the error unattributed.
  auto quoted = decode_quoted_ipv6(in.quote);
  State* s = quoted ? states_.find(quoted->head.dst()) : nullptr;
  // §2.4's rule for bindings applies to errors too: one about another binding's datagram
  // (a forged or stale one) changes nothing.
  if (!s || s->binding.remote != in.remote || s->binding.listener != in.listener) {
    ++counters_.pmtu.unattributed;
    return Verdict::consumed();
  }
  const PathMtu before = s->path;
  counters_.pmtu.count(s->path.on_frag_needed(pmtu_, in.next_hop_mtu, quoted->original_len, now));
  if (s->path.mtu != before.mtu || s->path.df != before.df) path_changed(*s);
  if (quoted->original_len <= s->path.mtu) return Verdict::consumed();
  // The packet is already lost downstream: no drop is counted here, only the error sent.
  if (!icmp_bucket_.allow(icmp_shape_, now)) {
    ++counters_.icmp_rate_limited;
    return Verdict::consumed();
  }
  std::size_t n = write_packet_too_big(scratch, icmp_source_, quoted->head, s->path.mtu);
  if (n == 0) return Verdict::consumed();
  counters_.too_big_sent.add(n);
  return {Action::kToTun, Drop::kCount, {}, scratch.first(n)};
}

Verdict GatewayEngine::too_big(const Ipv6View& p, const State& s, Time now,
                               std::span<std::uint8_t> scratch) {
  counters_.drops.add(Drop::kTooBig);
  if (!icmp_bucket_.allow(icmp_shape_, now)) {
    ++counters_.icmp_rate_limited;
    return Verdict::dropped(Drop::kTooBig);
  }
  std::size_t n = write_packet_too_big(scratch, icmp_source_, p, s.path.mtu);
  if (n == 0) return Verdict::dropped(Drop::kTooBig);
  counters_.too_big_sent.add(n);
  return {Action::kToTun, Drop::kTooBig, {}, scratch.first(n)};
}

void GatewayEngine::set_mn_mtu(const Ipv6Addr& mn, std::uint32_t mtu) {
  State* s = states_.find(mn);
  if (!s) return;
  s->path.mtu = std::clamp(mtu, wire::kMinIpv6Mtu, config_.mtu);
  path_changed(*s);
}

void GatewayEngine::reconfigure(const GatewayConfig& next) {
  config_.home_agents = next.home_agents;
  config_.pmtu_age = next.pmtu_age;
  pmtu_.age = next.pmtu_age;
  config_.creation_rate.rate_per_s = next.creation_rate.rate_per_s;
  config_.creation_rate.burst = next.creation_rate.burst;
  rate_.reconfigure(config_.creation_rate);
  states_.reconfigure(next.states);
  config_.states = states_.config();
}

StateSnapshot GatewayEngine::snapshot(Time now, std::int64_t now_unix_ms, bool fold) {
  StateSnapshot out;
  out.saved_at_unix_ms = now_unix_ms;
  out.states.reserve(states_.active_count());
  states_.for_each_active(fold, [&](const State& s) {
    const Time end = states_.deadline_of(s);
    if (end <= now) return;  // due at the next expiry
    SavedState r;
    r.mn = s.mn;
    r.remote = s.binding.remote;
    r.local = s.binding.local;
    r.remaining = end - now;
    r.mtu = s.path.mtu;
    r.mtu_source = s.path.source;
    r.df = s.path.df;
    if (s.path.learned() && s.path.expires > now) r.mtu_age_left = s.path.expires - now;
    r.ifindex = s.ifindex;
    out.states.push_back(r);
  });
  return out;
}

RestoreCounts GatewayEngine::restore(const StateSnapshot& saved,
                                     std::span<const Endpoint4> listeners, std::int64_t now_unix_ms,
                                     Time now) {
  RestoreCounts n;
  // A clock set back since the save counts as no time away.
  const Duration away =
      std::chrono::milliseconds(std::max<std::int64_t>(0, now_unix_ms - saved.saved_at_unix_ms));
  std::vector<const SavedState*> eligible;
  eligible.reserve(saved.states.size());
  for (const SavedState& r : saved.states) {
    if (r.remaining <= away)
      ++n.expired;
    else if (!config_.mn_prefix.contains(r.mn) ||
             std::find(listeners.begin(), listeners.end(), r.local) == listeners.end())
      ++n.foreign;
    else
      eligible.push_back(&r);
  }
  // When they do not all fit (a smaller --max-states than at the save), those with the most
  // life left stay: the MNs heard from last. Of an MN saved twice, the longer-lived copy.
  std::stable_sort(eligible.begin(), eligible.end(), [](const SavedState* a, const SavedState* b) {
    return a->remaining > b->remaining;
  });
  const std::size_t room =
      config_.states.max_states - std::min<std::size_t>(config_.states.max_states, states_.size());
  std::set<Ipv6Addr> taken;
  std::vector<const SavedState*> take;
  for (const SavedState* r : eligible) {
    if (states_.find(r->mn) || !taken.insert(r->mn).second)
      ++n.duplicate;
    else if (take.size() == room)
      ++n.full;
    else
      take.push_back(r);
  }
  // In the order they end: each goes to the back of the expiry list at once (in any other
  // order the list is walked for each: O(N^2) for N states).
  for (auto it = take.rbegin(); it != take.rend(); ++it) {
    const SavedState& r = **it;
    // A learned path MTU comes back with the rest of its age; otherwise (or without path-MTU
    // mode now) the path starts as configured.
    PathMtu path = PathMtu::initial(pmtu_);
    if (pmtu_.discovery && r.mtu_source == MtuSource::kIcmp && r.mtu_age_left > away) {
      path.mtu = std::min(r.mtu, pmtu_.configured);
      path.source = MtuSource::kIcmp;
      path.df = r.df;
      path.expires = now + (r.mtu_age_left - away);
    }
    const auto listener = static_cast<std::uint16_t>(
        std::find(listeners.begin(), listeners.end(), r.local) - listeners.begin());
    if (states_.restore_active(r.mn, Binding{r.remote, r.local, listener}, path, r.ifindex,
                               r.remaining - away, now))
      ++n.restored;
    else
      ++n.full;
  }
  return n;
}

}  // namespace m6t::core
