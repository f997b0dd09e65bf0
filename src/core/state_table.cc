#include "core/state_table.h"

#include <algorithm>

namespace m6t::core {

std::string_view to_string(StateKind k) {
  return k == StateKind::kTemporary ? "temporary" : "active";
}

StateTable::StateTable(const StateTableConfig& config, const SipKey& key)
    : config_(config), key_(key), index_(std::max<std::uint32_t>(config.max_states, 1)) {
  config_.max_states = std::max<std::uint32_t>(config_.max_states, 1);
  config_.max_temp_states =
      std::clamp<std::uint32_t>(config_.max_temp_states, 1, config_.max_states);
  states_.reserve(config_.max_states);
  free_.reserve(config_.max_states);
}

State* StateTable::find(const Ipv6Addr& mn) {
  auto slot = index_.find(hash(mn), [&](std::uint32_t s) { return states_[s].mn == mn; });
  return slot ? &states_[*slot] : nullptr;
}

void StateTable::prefetch(std::span<const Ipv6Addr> mns) const {
  constexpr std::size_t kChunk = 64;
  std::uint64_t hashes[kChunk];
  for (std::size_t base = 0; base < mns.size(); base += kChunk) {
    const std::size_t n = std::min(kChunk, mns.size() - base);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i] = hash(mns[base + i]);
      index_.prefetch(hashes[i]);
    }
    for (std::size_t i = 0; i < n; ++i)
      if (auto slot = index_.first_candidate(hashes[i])) __builtin_prefetch(&states_[*slot]);
  }
}

const State* StateTable::find(const Ipv6Addr& mn) const {
  return const_cast<StateTable*>(this)->find(mn);
}

void StateTable::remove(std::uint32_t slot, List& from) {
  if (mirror_ && &from == &active_) mirror_->removed(states_[slot]);
  index_.erase(hash(states_[slot].mn), slot);
  from.remove(states_, slot);
  free_.push_back(slot);
}

Result<State*> StateTable::create_temporary(const Ipv6Addr& mn, const Binding& binding, Time now) {
  if (temp_.size() >= config_.max_temp_states || size() >= config_.max_states) {
    if (temp_.empty()) return Drop::kStateTableFull;
    remove(temp_.front(), temp_);
    ++stats_.evicted_temporary;
  }
  const std::uint32_t slot = allocate_slot();
  State& s = states_[slot];
  s.mn = mn;
  s.binding = binding;
  s.kind = StateKind::kTemporary;
  s.created = s.refreshed = now;
  index_.insert(hash(mn), slot);
  temp_.push_back(states_, slot);
  ++stats_.created;
  return &s;
}

std::uint32_t StateTable::allocate_slot() {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(states_.size());
    states_.emplace_back();
  }
  states_[slot] = State{};
  return slot;
}

State* StateTable::restore_active(const Ipv6Addr& mn, const Binding& binding, const PathMtu& path,
                                  std::uint32_t ifindex, Duration remaining, Time now) {
  if (find(mn) || size() >= config_.max_states) return nullptr;
  const std::uint32_t slot = allocate_slot();
  State& s = states_[slot];
  s.mn = mn;
  s.binding = binding;
  s.kind = StateKind::kActive;
  s.path = path;
  s.ifindex = ifindex;
  s.created = now;
  // The lifetime runs from `refreshed`: set it so that the state ends where it would have.
  s.refreshed = s.last_from_mn =
      now - (config_.active_lifetime - std::clamp(remaining, Duration{}, config_.active_lifetime));
  index_.insert(hash(mn), slot);
  insert_active(slot);
  ++stats_.restored;
  if (mirror_) mirror_->activated(s);
  return &s;
}

void StateTable::activate(State& s, Time now) {
  if (s.kind == StateKind::kActive) return;
  std::uint32_t slot = slot_of(s);
  temp_.remove(states_, slot);
  s.kind = StateKind::kActive;
  s.refreshed = now;
  active_.push_back(states_, slot);
  ++stats_.activated;
  if (mirror_) mirror_->activated(s);
}

void StateTable::on_to_mn(State& s, std::size_t len, Time now) {
  s.to_mn.add(len);
  s.last_to_mn = now;
}

Time StateTable::deadline_of(const State& s) const {
  return s.kind == StateKind::kTemporary
             ? s.created + config_.temp_lifetime
             : std::max(s.refreshed, s.last_from_mn) + config_.active_lifetime;
}

Deadline StateTable::next_deadline() const {
  Deadline d;
  if (!temp_.empty()) d = earliest(d, deadline_of(states_[temp_.front()]));
  // The front's place in the list: its MN may have sent since (then it is re-queued).
  if (!active_.empty())
    d = earliest(d, states_[active_.front()].refreshed + config_.active_lifetime);
  return d;
}

void StateTable::requeue_active(std::uint32_t slot) {
  active_.remove(states_, slot);
  insert_active(slot);
}

void StateTable::insert_active(std::uint32_t slot) {
  const Time t = states_[slot].refreshed;
  std::uint32_t after = active_.back();
  while (after != kNoSlot && states_[after].refreshed > t)
    after = states_[after].links.prev;
  active_.insert_after(states_, after, slot);
}

void StateTable::fold_mirror(State& s) {
  auto seen = mirror_->activity(s);
  if (!seen) return;
  if (seen->last_from_mn) s.last_from_mn = std::max(s.last_from_mn, *seen->last_from_mn);
  if (seen->last_to_mn) s.last_to_mn = std::max(s.last_to_mn, *seen->last_to_mn);
}

void StateTable::expire(Time now) {
  while (!temp_.empty() && deadline_of(states_[temp_.front()]) <= now) {
    remove(temp_.front(), temp_);
    ++stats_.expired_temporary;
  }
  while (!active_.empty() && states_[active_.front()].refreshed + config_.active_lifetime <= now) {
    const std::uint32_t slot = active_.front();
    State& s = states_[slot];
    if (mirror_) fold_mirror(s);
    if (deadline_of(s) > now) {
      // §2.4: the MN sent since the state was queued: its lifetime runs from that packet.
      s.refreshed = s.last_from_mn;
      requeue_active(slot);
      continue;
    }
    remove(slot, active_);
    ++stats_.expired_active;
  }
}

void StateTable::reconfigure(const StateTableConfig& config) {
  config_.temp_lifetime = config.temp_lifetime;
  config_.active_lifetime = config.active_lifetime;
  config_.max_temp_states =
      std::clamp<std::uint32_t>(config.max_temp_states, 1, config_.max_states);
}

std::size_t StateTable::remove_listener(std::uint16_t listener) {
  std::size_t n = 0;
  for (List* list : {&temp_, &active_}) {
    for (std::uint32_t slot = list->front(); slot != kNoSlot;) {
      const std::uint32_t next = states_[slot].links.next;
      if (states_[slot].binding.listener == listener) {
        remove(slot, *list);
        ++n;
      }
      slot = next;
    }
  }
  return n;
}

}  // namespace m6t::core
