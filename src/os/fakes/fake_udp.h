// In-memory UDP socket for tests and fuzz targets only (never part of the m6t binary):
// `inject` queues datagrams to be received, `sent` records what the daemon sent.
#pragma once

#include <deque>
#include <vector>

#include "os/udp.h"

namespace m6t::os {

class FakeUdp final : public UdpSocket {
 public:
  explicit FakeUdp(core::Endpoint4 local) : local_(local) {}
  int fd() const override { return -1; }
  core::Endpoint4 local_endpoint() const override { return local_; }
  std::size_t recv_batch(std::span<PacketSlot> slots) override;
  std::size_t send_batch(std::span<const SendItem> items) override;
  std::vector<IcmpError> read_errors() override;

  struct Sent {
    std::vector<std::uint8_t> data;
    core::Endpoint4 remote;
    core::Endpoint4 local;
    bool df = false;
  };
  void inject(std::vector<std::uint8_t> data, core::Endpoint4 remote);
  void inject_error(IcmpError e) { errors_.push_back(e); }
  std::vector<Sent> sent;

 private:
  core::Endpoint4 local_;
  std::deque<Sent> inbound_;
  std::vector<IcmpError> errors_;
};

}  // namespace m6t::os
