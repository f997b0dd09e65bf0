#include "app/datapath/client_datapath.h"

namespace m6t::app {

namespace {
// Batches handled per readiness event before giving the other descriptors their turn.
constexpr int kBatchesPerWakeup = 4;
}  // namespace

ClientDataPath::ClientDataPath(core::ClientEngine& engine, os::TunDevice& tun, DropReport& drops)
    : engine_(engine), tun_(tun), drops_(drops) {
  pending_.reserve(os::kBatchSize);
}

void ClientDataPath::on_tun_readable(os::UdpSocket* socket, core::Time now) {
  auto slots = tun_rx_.slots();
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    std::size_t n = tun_.read_batch(slots);
    for (std::size_t i = 0; i < n; ++i) {
      core::Verdict v = engine_.on_tun(slots[i].bytes(), now);
      if (v.action == core::Action::kToUdp) {
        pending_.push_back({v.packet, v.to.remote, {}, v.df});
      } else if (v.action == core::Action::kToTun) {
        // A Packet Too Big toward the host (path-MTU mode): written before the engine's next
        // call reuses its buffer.
        if (!tun_.write(v.packet)) ++io_.tun_write_errors;
        drops_.note(v.drop, now);
      } else if (v.action == core::Action::kDrop) {
        drops_.note(v.drop, now);
      }
    }
    if (!pending_.empty()) {
      std::size_t sent = socket ? socket->send_batch(pending_) : 0;
      io_.udp_send_errors += pending_.size() - sent;
      pending_.clear();
    }
    if (n < slots.size()) break;
  }
}

void ClientDataPath::on_udp_readable(os::UdpSocket& socket, core::Time now) {
  auto slots = udp_rx_.slots();
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    std::size_t n = socket.recv_batch(slots);
    for (std::size_t i = 0; i < n; ++i) {
      if (slots[i].truncated) {
        ++io_.truncated_datagrams;
        drops_.note(core::Drop::kOversized, now, slots[i].remote);
        continue;
      }
      core::Verdict v = engine_.on_udp(slots[i].remote, slots[i].bytes(), now);
      if (v.action == core::Action::kToTun) {
        if (!tun_.write(v.packet)) ++io_.tun_write_errors;
      } else if (v.action == core::Action::kDrop) {
        drops_.note(v.drop, now, slots[i].remote);
      }
    }
    if (n < slots.size()) break;
  }
}

void ClientDataPath::on_udp_errors(os::UdpSocket& socket, core::Time now) {
  for (const os::IcmpError& e : socket.read_errors()) {
    if (!e.frag_needed()) continue;
    core::Verdict v = engine_.on_frag_needed({0, e.remote, e.info, e.quote}, now);
    if (v.action == core::Action::kToTun && !tun_.write(v.packet)) ++io_.tun_write_errors;
  }
}

void ClientDataPath::send_keepalive(os::UdpSocket& socket) {
  os::SendItem ka{engine_.keepalive_packet(), *engine_.gateway(), {}, engine_.path_mtu().df};
  if (socket.send_batch(std::span(&ka, 1)) != 1) ++io_.udp_send_errors;
}

}  // namespace m6t::app
