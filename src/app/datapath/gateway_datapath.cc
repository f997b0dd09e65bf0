#include "app/datapath/gateway_datapath.h"

#include "core/wire.h"

namespace m6t::app {

namespace {
// Batches handled per readiness event before giving the other descriptors their turn.
constexpr int kBatchesPerWakeup = 4;

// The MN addresses a batch is for (the inner source of datagrams, the destination of home-side
// packets) gathered for GatewayEngine::prefetch; packets too short to carry one are skipped
// here and judged by the engine.
std::span<const core::Ipv6Addr> batch_mns(std::span<const os::PacketSlot> slots, std::size_t n,
                                          std::size_t offset,
                                          std::array<core::Ipv6Addr, os::kBatchSize>& out) {
  std::size_t k = 0;
  for (std::size_t i = 0; i < n && k < out.size(); ++i) {
    auto bytes = slots[i].bytes();
    if (bytes.size() < wire::kIpv6HeaderLen) continue;
    out[k++] = core::Ipv6Addr::from_bytes(bytes.subspan(offset).first<wire::kIpv6AddrLen>());
  }
  return {out.data(), k};
}
}  // namespace

GatewayDataPath::GatewayDataPath(core::GatewayEngine& engine, os::TunDevice& tun,
                                 const std::vector<std::unique_ptr<os::UdpSocket>>& sockets,
                                 DropReport& drops)
    : engine_(engine),
      tun_(tun),
      sockets_(sockets),
      drops_(drops),
      pending_(sockets.size()),
      scratch_(wire::kIcmpv6ErrorMaxLen) {
  for (auto& p : pending_)
    p.reserve(os::kBatchSize);
}

void GatewayDataPath::listeners_changed() {
  while (pending_.size() < sockets_.size()) {
    pending_.emplace_back();
    pending_.back().reserve(os::kBatchSize);
  }
  for (std::size_t l = 0; l < sockets_.size(); ++l)
    if (!sockets_[l]) pending_[l].clear();
}

void GatewayDataPath::flush(std::size_t listener) {
  auto& items = pending_[listener];
  if (items.empty()) return;
  if (!sockets_[listener]) {  // removed by a reload (its states went with it)
    items.clear();
    return;
  }
  std::size_t sent = sockets_[listener]->send_batch(items);
  io_.udp_send_errors += items.size() - sent;
  items.clear();
}

void GatewayDataPath::on_udp_readable(std::size_t listener, core::Time now) {
  os::UdpSocket& sock = *sockets_[listener];
  auto slots = udp_rx_.slots();
  engine_.begin_turn();
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    std::size_t n = sock.recv_batch(slots);
    engine_.prefetch(batch_mns(slots, n, wire::kIpv6SrcOffset, mns_));
    for (std::size_t i = 0; i < n; ++i) {
      os::PacketSlot& slot = slots[i];
      if (slot.truncated) {
        ++io_.truncated_datagrams;
        continue;
      }
      core::Verdict v = engine_.on_udp(
          {slot.remote, slot.local, static_cast<std::uint16_t>(listener), slot.ifindex},
          slot.bytes(), now);
      switch (v.action) {
        case core::Action::kToTun:
          if (!tun_.write(v.packet)) ++io_.tun_write_errors;
          break;
        case core::Action::kToUdp:  // a keepalive answer, from the socket it came to
          pending_[listener].push_back({v.packet, v.to.remote, v.to.local, v.df});
          break;
        case core::Action::kDrop:
          drops_.note(v.drop, now, slot.remote);
          break;
        case core::Action::kConsumed:
          break;
      }
    }
    // Answers point into the receive buffers: send them before the next batch reuses them.
    flush(listener);
    if (n < slots.size()) break;
  }
}

void GatewayDataPath::on_tun_readable(core::Time now) {
  auto slots = tun_rx_.slots();
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    std::size_t n = tun_.read_batch(slots);
    engine_.prefetch(batch_mns(slots, n, wire::kIpv6DstOffset, mns_));
    for (std::size_t i = 0; i < n; ++i) {
      core::Verdict v = engine_.on_tun(slots[i].bytes(), now, scratch_);
      switch (v.action) {
        case core::Action::kToUdp:
          pending_[v.to.listener].push_back({v.packet, v.to.remote, v.to.local, v.df});
          break;
        case core::Action::kToTun:  // a Packet Too Big toward the home side
          if (!tun_.write(v.packet)) ++io_.tun_write_errors;
          drops_.note(v.drop, now);
          break;
        case core::Action::kDrop:
          drops_.note(v.drop, now);
          break;
        case core::Action::kConsumed:
          break;
      }
    }
    for (std::size_t l = 0; l < pending_.size(); ++l)
      flush(l);
    if (n < slots.size()) break;
  }
}

void GatewayDataPath::on_udp_errors(std::size_t listener, core::Time now) {
  for (const os::IcmpError& e : sockets_[listener]->read_errors()) {
    if (!e.frag_needed()) continue;  // other errors (port unreachable...) change nothing here
    core::Verdict v = engine_.on_frag_needed(
        {static_cast<std::uint16_t>(listener), e.remote, e.info, e.quote}, now, scratch_);
    if (v.action == core::Action::kToTun && !tun_.write(v.packet)) ++io_.tun_write_errors;
  }
}

}  // namespace m6t::app
