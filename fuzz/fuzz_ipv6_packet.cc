// Decoder fuzzing: strict IPv6 decoding, keepalive recognition, Packet Too Big construction.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/ipv6_packet.h"

using namespace m6t;
using namespace m6t::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t max_len = 1280 + (data[0] * 256u + data[1]) % 64000;
  std::span<const std::uint8_t> pkt(data + 2, size - 2);
  auto d = decode_ipv6(pkt, max_len);
  if (!d) {
    if (d.error() >= Drop::kCount) std::abort();
    return 0;
  }
  // What the decoder accepted honours its contract.
  if (d->size() != pkt.size() || d->size() < 40 || d->size() > max_len) std::abort();
  if (d->payload_len() != ((std::size_t{pkt[4]} << 8) | pkt[5])) std::abort();
  bool ka = is_keepalive(*d), reply = is_keepalive_reply(*d);
  if ((ka || reply) && d->size() != wire::kKeepaliveLen) std::abort();
  if (ka) {
    std::vector<std::uint8_t> copy(pkt.begin(), pkt.end());
    make_keepalive_reply_in_place(copy);
    auto r = decode_ipv6(copy, max_len);
    if (!r || !is_keepalive_reply(*r) || r->dst() != d->src()) std::abort();
  }
  std::vector<std::uint8_t> out(wire::kIcmpv6ErrorMaxLen);
  std::size_t n = write_packet_too_big(out, d->dst(), *d, 1280);
  if (n > 0) {
    auto e = decode_ipv6(std::span(out).first(n), wire::kIcmpv6ErrorMaxLen);
    if (!e || e->dst() != d->src() || e->next_header() != wire::kNextHeaderIcmpv6) std::abort();
    auto msg = std::span<const std::uint8_t>(out).subspan(40, n - 40);
    // Checksum verifies: recomputing over the message with its checksum gives 0.
    if (icmpv6_checksum(e->src(), e->dst(), msg) != 0) std::abort();
  }
  return 0;
}
