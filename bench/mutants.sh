#!/usr/bin/env bash
# Mutation check of the protocol rules: breaks one rule at a time in a copy of the tree and
# checks that the unit and scenario tests notice (some test fails). A surviving mutant is a
# rule without a test. Not part of CI (a rebuild per mutant); run: bash bench/mutants.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/m6t-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$work")
cmake -S "$work" -B "$work/build" -G Ninja -DM6T_BENCH=OFF >/dev/null

# file ~ exact text ~ replacement ~ the rule it breaks
mutants=(
  "src/core/gateway_engine.cc~if (s->binding != b) return drop(Drop::kBindingMismatch);~if (false) return drop(Drop::kBindingMismatch);~§2.4 bindings never updated"
  "src/core/gateway_engine.cc~if (s->binding != binding_of(in)) return drop(Drop::kBindingMismatch);~if (false \&\& s->binding != binding_of(in)) return drop(Drop::kBindingMismatch);~§2.3 keepalive IPv4 parameters match"
  "src/core/gateway_engine.cc~if (s->kind != StateKind::kActive) return drop(Drop::kKeepaliveNotActive);~if (false) return drop(Drop::kKeepaliveNotActive);~§2.3 keepalive only for active state"
  "src/core/gateway_engine.cc~if (!config_.mn_prefix.contains(src)) return drop(Drop::kSrcOutsidePrefix);~if (false) return drop(Drop::kSrcOutsidePrefix);~§6.1.3 source inside the prefix"
  "src/core/gateway_engine.cc~if (!is_home_agent(p.dst())) return drop(Drop::kDstNotHomeAgent);~if (false) return drop(Drop::kDstNotHomeAgent);~§6.1.3 destination is a home agent"
  "src/core/gateway_engine.cc~if (bad_source(src)) return drop(Drop::kSrcInvalid);~if (false \&\& bad_source(src)) return drop(Drop::kSrcInvalid);~multicast/link-local sources"
  "src/core/gateway_engine.cc~if (!rate_.allow(in.remote.addr, now)) return drop(Drop::kRateLimited);~if (false) return drop(Drop::kRateLimited);~§6.1.3 per-address rate limit"
  "src/core/gateway_engine.cc~if (!is_home_agent(p.src())) return drop(Drop::kTempNotFromHomeAgent);~if (false) return drop(Drop::kTempNotFromHomeAgent);~§3 only the HA activates"
  "src/core/gateway_engine.cc~if (!s) return drop(Drop::kNoState);~if (!s) return Verdict{};~no state: dropped and counted"
  "src/core/gateway_engine.cc~if (p.size() > s->path.mtu) return too_big(p, *s, now, scratch);~if (false) return too_big(p, *s, now, scratch);~§2.6 per-MN MTU"
  "src/core/state_table.cc~             : std::max(s.refreshed, s.last_from_mn) + config_.active_lifetime;~             : s.refreshed + config_.active_lifetime;~§2.4 MN traffic extends the active lifetime"
  "src/core/state_table.cc~  s.to_mn.add(len);\n  s.last_to_mn = now;~  s.to_mn.add(len);\n  s.last_to_mn = now;\n  s.last_from_mn = now;~home traffic must not extend"
  "src/core/state_table.cc~  while (!temp_.empty() \&\& deadline_of(states_[temp_.front()]) <= now) {~  while (!temp_.empty() \&\& deadline_of(states_[temp_.front()]) < now) {~expiry at the exact millisecond"
  "src/core/state_table.cc~    if (temp_.empty()) return Drop::kStateTableFull;~    return Drop::kStateTableFull;~evict the oldest temporary at the cap"
  "src/core/state_table.cc~    if (temp_.empty()) return Drop::kStateTableFull;\n    remove(temp_.front(), temp_);~    if (active_.empty()) return Drop::kStateTableFull;\n    remove(active_.front(), active_);~active states are never evicted"
  "src/core/ipv6_packet.cc~  if (kIpv6HeaderLen + payload != pkt.size()) return Drop::kLengthMismatch;~  if (kIpv6HeaderLen + payload > pkt.size()) return Drop::kLengthMismatch;~exact length (trailing bytes)"
  "src/core/ipv6_packet.cc~  if (pkt.size() > max_len) return Drop::kOversized;~  if (false \&\& pkt.size() > max_len) return Drop::kOversized;~oversized datagrams dropped"
  "src/core/ipv6_packet.cc~  return p.next_header() == kNextHeaderNone \&\& p.payload_len() == 0 \&\& p.dst_is(keepalive_addr());~  return p.next_header() == kNextHeaderNone \&\& p.dst_is(keepalive_addr());~keepalive is an empty packet"
  "src/core/client_engine.cc~  Deadline due = std::min(last_tx_, last_rx_) + config_.keepalive_interval;~  Deadline due = std::max(last_tx_, last_rx_) + config_.keepalive_interval;~§2.3 idle in either direction"
  "src/core/client_engine.cc~    if (random48_ \&\& v == \*random48_) continue;~    if (false) continue;~§3 a new random value per attachment"
  "src/core/client_engine.cc~    if (!claims_ \|\| claims_->claim(v)) return v;~    return v;~§2.5 no shared random value"
  "src/core/client_engine.cc~  if (!p.src_is(address_)) return drop(Drop::kSrcNotTunnelAddress);~~host packets from the tunnel address only"
  "src/core/client_engine.cc~  if (from != config_.gateways\[gateway_index_\]) return drop(Drop::kNotFromGateway);~  if (false \&\& from != config_.gateways\[gateway_index_\]) return drop(Drop::kNotFromGateway);~datagrams from the gateway only"
  "src/core/client_engine.cc~    pending_uplink_.reset();  // a flap that reverted within the debounce time\n    return;~    return;~debounce: a reverted flap is cancelled"
  "src/core/client_engine.cc~  state_ = ClientState::kProbing;~  state_ = ClientState::kUp;~no keepalive before the gateway answered"
  "src/core/rate_limiter.cc~  return e.bucket.allow(shape_, now);~  (void)e.bucket.allow(shape_, now);\n  return true;~token bucket"
  "src/core/address.cc~  return v != 0 ? v : 1;~  return v;~random value never zero"
)

survived=0
killed=0
invalid=0
for m in "${mutants[@]}"; do
  IFS='~' read -r file from to rule <<<"$m"
  cp "$root/$file" "$work/$file"
  /usr/bin/python3 - "$work/$file" "$from" "$to" <<'PY' || { echo "SKIP (pattern not found): $rule"; continue; }
import sys
path, old, new = sys.argv[1], sys.argv[2].replace('\\n', '\n').replace('\\', ''), sys.argv[3].replace('\\n', '\n').replace('\\', '')
s = open(path).read()
if old not in s: sys.exit(1)
open(path, 'w').write(s.replace(old, new, 1))
PY
  if ! ninja -C "$work/build" >/dev/null 2>&1; then
    # A mutant that does not build tests nothing: fix its pattern so that it compiles.
    echo "INVALID (does not compile): $rule"
    invalid=$((invalid + 1))
  elif ctest --test-dir "$work/build" -L "unit|scenario|app" -j2 --timeout 60 >/dev/null 2>&1; then
    echo "SURVIVED: $rule ($file)"
    survived=$((survived + 1))
  else
    echo "killed: $rule"
    killed=$((killed + 1))
  fi
  cp "$root/$file" "$work/$file"
done
ninja -C "$work/build" >/dev/null 2>&1
echo "mutants: $killed killed, $survived survived, $invalid invalid"
[ "$survived" = 0 ] && [ "$invalid" = 0 ]
