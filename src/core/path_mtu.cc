#include "core/path_mtu.h"
#include "core/enum_names.h"

#include <algorithm>
#include <array>

namespace m6t::core {

constexpr std::array<std::string_view, 3> kMtuSourceNames = {"configured", "icmp", "aged"};

std::string_view to_string(MtuSource s) {
  return name_of(kMtuSourceNames, s);
}

constexpr std::array<std::string_view, 4> kPmtuUpdateNames = {"lowered", "fragmenting", "not_lower",
                                                              "disabled"};

std::string_view to_string(PmtuUpdate u) {
  return name_of(kPmtuUpdateNames, u);
}

PathMtu PathMtu::initial(const PathMtuConfig& c) {
  return PathMtu{c.configured, MtuSource::kConfigured, c.discovery, {}};
}

Deadline PathMtu::next_deadline() const {
  if (!learned()) return std::nullopt;
  return expires;
}

bool PathMtu::expire(const PathMtuConfig& c, Time now) {
  if (!learned() || now < expires) return false;
  // RFC 8201 §4: after the timeout the path MTU is set back to the first hop's (here: the
  // configured tunnel MTU) and discovery starts over; DF goes back on in path-MTU mode.
  mtu = c.configured;
  source = MtuSource::kAged;
  df = c.discovery;
  return true;
}

PmtuUpdate PathMtu::on_frag_needed(const PathMtuConfig& c, std::uint32_t next_hop_mtu,
                                   std::size_t quoted_len, Time now) {
  if (!c.discovery) return PmtuUpdate::kDisabled;
  expire(c, now);
  if (next_hop_mtu == 0) next_hop_mtu = plateau_below(quoted_len + wire::kEncapOverhead);
  std::uint32_t t = tunnel_mtu_for(next_hop_mtu);
  if (t < wire::kMinIpv6Mtu) {
    // Below IPv6's minimum: back to fragmentation for this path (see the header).
    if (!df) return PmtuUpdate::kNotLower;
    mtu = wire::kMinIpv6Mtu;
    df = false;
    source = MtuSource::kIcmp;
    expires = now + c.age;
    return PmtuUpdate::kFragmenting;
  }
  if (t >= mtu) return PmtuUpdate::kNotLower;
  mtu = t;
  df = true;
  source = MtuSource::kIcmp;
  expires = now + c.age;
  return PmtuUpdate::kLowered;
}

std::uint32_t tunnel_mtu_for(std::uint32_t next_hop_mtu) {
  return next_hop_mtu > wire::kEncapOverhead
             ? next_hop_mtu - static_cast<std::uint32_t>(wire::kEncapOverhead)
             : 0;
}

std::uint32_t plateau_below(std::size_t outer_len) {
  // RFC 1191 §7, the table of plateaus.
  static constexpr std::array<std::uint32_t, 11> kPlateaus = {65535, 32000, 17914, 8166, 4352, 2002,
                                                              1492,  1006,  508,   296,  68};
  for (std::uint32_t p : kPlateaus)
    if (p < outer_len) return p;
  return kPlateaus.back();
}

Result<QuotedPacket> decode_quoted_ipv6(std::span<const std::uint8_t> quote) {
  if (quote.size() < wire::kIpv6HeaderLen) return Drop::kTruncated;
  if ((quote[wire::kIpv6VersionOffset] >> 4) != wire::kIpv6Version) return Drop::kBadVersion;
  std::size_t payload = (std::size_t{quote[wire::kIpv6PayloadLenOffset]} << 8) |
                        quote[wire::kIpv6PayloadLenOffset + 1];
  // The quote may be shorter than the packet (that is the rule) but never longer: trailing
  // bytes would be quoted from something else.
  std::size_t original = wire::kIpv6HeaderLen + payload;
  return QuotedPacket{Ipv6View(quote.first(std::min(quote.size(), original))), original};
}

}  // namespace m6t::core
