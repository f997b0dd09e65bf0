// The gateway's states (§2.4): one per MN tunnel address, binding it to the NAT's IPv4
// address and UDP port and to the local address and port the MN reached us on.
//
// Memory: sizeof(State) plus two 8-byte index cells per state (load factor 1/2), plus a
// 4-byte free-list entry: bytes_per_state() gives the exact figure for this build.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/drop.h"
#include "core/path_mtu.h"
#include "core/result.h"
#include "core/siphash.h"
#include "core/slot_index.h"
#include "core/time.h"
#include "core/wire.h"

namespace m6t::core {

enum class StateKind : std::uint8_t { kTemporary, kActive };
std::string_view to_string(StateKind k);

// Where the MN's datagrams come from and arrive at. §2.4: "address-related information ... in
// states (active or temporary) are never updated". The local side belongs to the binding too:
// a NAT only lets answers through from the address and port the MN sent to.
struct Binding {
  Endpoint4 remote;            // the NAT's public address and port
  Endpoint4 local;             // our address and port the MN sent to
  std::uint16_t listener = 0;  // which listening socket of the daemon received it
  bool operator==(const Binding&) const = default;
};

struct State {
  Ipv6Addr mn;
  Binding binding;
  StateKind kind = StateKind::kTemporary;
  PathMtu path;  // toward this MN (§2.6): its MTU, how it was learned, the outer DF bit
  // The interface its first datagram arrived on: where the fast path sends its answers.
  std::uint32_t ifindex = 0;
  Time created{};
  // Where the state stands in its expiry list: creation (temporary), then activation, then the
  // MN's last packet as of the last time the state reached the front of the active list.
  // A packet from the MN only sets last_from_mn (no list move on the packet path); the active
  // lifetime runs from the later of the two (deadline_of).
  Time refreshed{};
  Time last_from_mn{};
  Time last_to_mn{};
  Flow from_mn;
  Flow to_mn;
  Links links;  // in the temporary or the active list
};

// What the kernel fast path forwarded for one active state since its activation (cumulative),
// as its mirror reports it.
struct MirrorActivity {
  Flow from_mn;
  Flow to_mn;
  std::optional<Time> last_from_mn;  // on the core's monotonic clock
  std::optional<Time> last_to_mn;
};

// Active states mirrored outside the engine (the eBPF fast path): the engine stays the one
// authority and tells the mirror of every change; the mirror forwards those states' packets
// and reports what it saw, which the table folds in before deciding an active state's expiry.
class StateMirror {
 public:
  virtual ~StateMirror() = default;
  // §3: the state became active. Its binding is final (§2.4).
  virtual void activated(const State& s) = 0;
  // Its path MTU or outer DF bit changed (path-MTU mode).
  virtual void path_changed(const State& s) = 0;
  // The state is gone (expired: active states are never evicted).
  virtual void removed(const State& s) = 0;
  virtual std::optional<MirrorActivity> activity(const State& s) const = 0;
};

struct StateTableConfig {
  Duration temp_lifetime = wire::kDefaultTempLifetime;
  Duration active_lifetime = wire::kDefaultActiveLifetime;
  std::uint32_t max_states = 262144;
  std::uint32_t max_temp_states = 65536;
};

struct StateStats {
  std::uint64_t created = 0;
  std::uint64_t activated = 0;
  std::uint64_t expired_temporary = 0;
  std::uint64_t expired_active = 0;
  std::uint64_t evicted_temporary = 0;
  std::uint64_t restored = 0;  // active states restored at start (state_file.h)
};

class StateTable {
 public:
  StateTable(const StateTableConfig& config, const SipKey& key);

  State* find(const Ipv6Addr& mn);
  const State* find(const Ipv6Addr& mn) const;
  // The states of a batch's sources brought into the cache before their lookups: at a
  // million states each lookup misses the cache twice (index cell, then state), and in a
  // batch those misses overlap instead of adding up.
  void prefetch(std::span<const Ipv6Addr> mns) const;

  // A new temporary state (§2.4). When the temporary cap, or the total cap, is reached, the
  // oldest temporary state is evicted to make room: under a flood of first packets this keeps
  // every new state alive for as long as the flood takes to fill the table again, which is
  // what a legitimate MN needs for its HA to answer (§6.1.3). Active states are never
  // evicted; when all states are active and the table is full, creation fails.
  Result<State*> create_temporary(const Ipv6Addr& mn, const Binding& binding, Time now);
  // §3: a temporary state "is marked active". The active lifetime starts now.
  void activate(State& s, Time now);
  // A restart (state_file.h): an active state as it was saved, its lifetime ending `remaining`
  // from now (at most the active lifetime). Null, changing nothing, when the MN has a state
  // already or the table is full.
  State* restore_active(const Ipv6Addr& mn, const Binding& binding, const PathMtu& path,
                        std::uint32_t ifindex, Duration remaining, Time now);
  // Every active state; with `fold`, with what its mirror saw folded in first (so that a
  // state the fast path kept alive is not taken for an idle one).
  template <class F>
  void for_each_active(bool fold, F&& f) {
    for (std::uint32_t i = active_.front(); i != kNoSlot; i = states_[i].links.next) {
      if (fold && mirror_) fold_mirror(states_[i]);
      f(static_cast<const State&>(states_[i]));
    }
  }
  // A packet from the MN. §2.4: the active lifetime "is extended each time traffic is
  // exchanged with the MN"; only the MN's own packets count (they alone keep its NAT mapping
  // open). A temporary state's short lifetime is never extended.
  void on_from_mn(State& s, std::size_t len, Time now) {
    s.from_mn.add(len);
    s.last_from_mn = now;
  }
  void on_to_mn(State& s, std::size_t len, Time now);

  // The earliest time a state may expire (a lower bound: an active state whose MN sent since
  // it was queued is re-queued then, not expired).
  Deadline next_deadline() const;
  Time deadline_of(const State& s) const;
  void expire(Time now);

  // Active states from now on are mirrored there (nullptr: none); see StateMirror.
  void set_mirror(StateMirror* mirror) { mirror_ = mirror; }
  StateMirror* mirror() const { return mirror_; }

  std::size_t size() const { return temp_.size() + active_.size(); }
  std::size_t temporary_count() const { return temp_.size(); }
  std::size_t active_count() const { return active_.size(); }
  const StateStats& stats() const { return stats_; }
  const StateTableConfig& config() const { return config_; }
  // Removes every state of the listener `listener` (a listen address a reload took away: their
  // bindings name it and never move, §2.4); returns how many.
  std::size_t remove_listener(std::uint16_t listener);
  // A reload: new lifetimes and temporary cap, applied to every state from now on (each kind's
  // queue stays in order: one lifetime per kind). max_states stays (the index is sized from
  // it at start).
  void reconfigure(const StateTableConfig& config);
  static constexpr std::size_t bytes_per_state() {
    return sizeof(State) + 2 * sizeof(std::uint64_t) + sizeof(std::uint32_t);
  }

  template <class F>
  void for_each(F&& f) const {
    for (auto* list : {&temp_, &active_})
      for (std::uint32_t i = list->front(); i != kNoSlot; i = states_[i].links.next)
        f(states_[i]);
  }
  // `m6t show` of a large table, page by page: visits at most `max` states from slot `from`
  // on and returns the slot to go on from (kNoSlot: done). A state keeps its slot for life, so
  // a walk over pages meets every state that lives through it exactly once, whatever is
  // created or expires in between.
  template <class F>
  std::uint32_t for_each_from(std::uint32_t from, std::size_t max, F&& f) const {
    std::size_t n = 0;
    for (std::uint32_t slot = from; slot < states_.size(); ++slot) {
      if (find(states_[slot].mn) != &states_[slot]) continue;  // a free slot
      if (n == max) return slot;
      f(states_[slot]);
      ++n;
    }
    return kNoSlot;
  }

 private:
  using List = SlotList<State, &State::links>;
  std::uint64_t hash(const Ipv6Addr& a) const { return siphash24(key_, a.b); }
  std::uint32_t slot_of(const State& s) const {
    return static_cast<std::uint32_t>(&s - states_.data());
  }
  void remove(std::uint32_t slot, List& from);
  // Back into the active list at the place of its `refreshed` (walking from the back: the
  // state was refreshed recently, so the walk is short).
  void requeue_active(std::uint32_t slot);
  void insert_active(std::uint32_t slot);
  std::uint32_t allocate_slot();
  // The mirror's last packet times of an active state, folded into it (its counters stay the
  // mirror's: the daemon adds them up for `m6t show`).
  void fold_mirror(State& s);

  StateTableConfig config_;
  SipKey key_;
  std::vector<State> states_;
  std::vector<std::uint32_t> free_;
  SlotIndex index_;
  List temp_;    // sorted by creation time
  List active_;  // sorted by last refresh
  StateStats stats_;
  StateMirror* mirror_ = nullptr;
};

}  // namespace m6t::core
