// m6t-attack: sends the hardening attacks at a gateway, as fast as the machine allows, from
// spoofed IPv4 sources (raw socket, IP_HDRINCL, sendmmsg batches). Bounded: --count and
// --duration are mandatory; it only sends to and from documentation/test addresses and
// refuses to run outside a named (ip netns) namespace. Prints what it did as one JSON line:
//   {"mode":"flood","datagrams":N,"frames":N,"bytes":N,"seconds":S,"pps":R,...}
// where datagrams were built, frames (IPv4 packets, more than datagrams when fragmented) were
// accepted by the kernel, and pps is frames per second.
//
// Usage: m6t-attack MODE --to 203.0.113.2:4500 --from 198.19.0.0/16 --prefix fd00:db8:1::/48
//          --home-agent 2001:db8:1::2 --count 1000000 --duration 5 [--rate PPS] [--payload echo]
//          [--victim ADDR6] [--victim-nat A.B.C.D:PORT] [--run N] [--size N] [--mtu N]
//          [--mns N]
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "attack/attack_packets.h"
#include "attack/ipv4_frame.h"
#include "attack/safety.h"
#include "core/drop.h"

namespace {

using namespace m6t;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

constexpr std::size_t kMaxMsgs = 256;
constexpr std::size_t kArena = 1 << 20;
constexpr std::uint64_t kMaxCount = 1'000'000'000;
constexpr double kMaxDuration = 600;

int usage_error(const std::string& what) {
  std::fprintf(stderr, "m6t-attack: %s\n", what.c_str());
  return 2;
}

// The tool must only ever send inside a test namespace: it refuses to run unless its network
// namespace is one of the named namespaces of `ip netns` (/run/netns/*), which the tests and
// benchmarks create and remove, and never in the namespace of PID 1 where real interfaces live.
bool in_named_test_netns() {
  struct stat self {};
  if (stat("/proc/self/ns/net", &self) != 0) return false;
  struct stat init {};
  if (stat("/proc/1/ns/net", &init) == 0 && init.st_ino == self.st_ino &&
      init.st_dev == self.st_dev)
    return false;
  DIR* dir = opendir("/run/netns");
  if (!dir) return false;
  bool found = false;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    struct stat ns {};
    std::string path = std::string("/run/netns/") + e->d_name;
    if (stat(path.c_str(), &ns) == 0 && ns.st_ino == self.st_ino && ns.st_dev == self.st_dev) {
      found = true;
      break;
    }
  }
  closedir(dir);
  return found;
}

bool parse_cidr(const std::string& s, core::Ipv4Addr& net, unsigned& len) {
  auto slash = s.find('/');
  auto addr = core::Ipv4Addr::parse(s.substr(0, slash));
  if (!addr) return false;
  len = 32;
  if (slash != std::string::npos) {
    try {
      std::size_t used = 0;
      int l = std::stoi(s.substr(slash + 1), &used);
      if (used != s.size() - slash - 1 || l < 0 || l > 32) return false;
      len = static_cast<unsigned>(l);
    } catch (const std::exception&) {
      return false;
    }
  }
  std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  net.value = addr->value & mask;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"m6t-attack: bounded attack traffic against an m6t gateway, for tests"};
  std::string mode_s, to_s, from_s, prefix_s, ha_s, victim_s, victim_nat_s, payload_s = "none";
  std::uint64_t count = 0;
  double duration = 0, rate = 0;
  std::uint32_t size = 0, mtu = 1472, link_mtu = 1500, run = 0, batch = 64, mns = 0;
  app.add_option("mode", mode_s, "flood|ports|hijack|keepalive|non-ha|malformed")->required();
  app.add_option("--to", to_s, "the gateway's A.B.C.D:PORT")->required();
  app.add_option("--from", from_s, "IPv4 sources A.B.C.D[/LEN] (spoofed)")->required();
  app.add_option("--prefix", prefix_s, "the gateway's MN prefix")->required();
  app.add_option("--home-agent", ha_s, "a home agent of the gateway")->required();
  app.add_option("--count", count, "at most this many datagrams (required)")->required();
  app.add_option("--duration", duration, "at most this many seconds (required)")->required();
  app.add_option("--rate", rate, "datagrams per second (default: as fast as possible)");
  app.add_option("--payload", payload_s, "none (next header 59) or echo (ICMPv6 echo request)");
  app.add_option("--size", size, "bytes after the IPv6 header of data packets");
  app.add_option("--mtu", mtu, "the gateway's tunnel MTU (oversized shape: one byte more)");
  app.add_option("--link-mtu", link_mtu, "IPv4 MTU of the link: larger datagrams are fragmented");
  app.add_option("--victim", victim_s, "a live MN's tunnel address (hijack, keepalive)");
  app.add_option("--victim-nat", victim_nat_s, "its NAT address:port (other ports are spoofed)");
  app.add_option("--run", run, "0-255: makes the IPv6 sources of this run distinct");
  app.add_option("--mns", mns, "flood: cycle over this many MNs (established MNs' traffic)");
  app.add_option("--batch", batch, "datagrams per sendmmsg (1-128)");
  CLI11_PARSE(app, argc, argv);

  attack::AttackConfig c;
  auto mode = attack::parse_mode(mode_s);
  if (!mode) return usage_error("unknown mode '" + mode_s + "'");
  c.mode = *mode;
  auto to = core::Endpoint4::parse(to_s);
  if (!to) return usage_error("--to " + to_s + ": expected A.B.C.D:PORT");
  if (!attack::allowed_address(to->addr))
    return usage_error("--to " + to_s + ": refused, not a documentation/test address");
  c.target = *to;
  if (!parse_cidr(from_s, c.from_net, c.from_len))
    return usage_error("--from " + from_s + ": expected A.B.C.D[/LEN]");
  if (!attack::allowed_range(c.from_net, c.from_len))
    return usage_error("--from " + from_s + ": refused, not inside a documentation/test range");
  auto prefix = core::Ipv6Prefix::parse(prefix_s);
  if (!prefix) return usage_error("--prefix " + prefix_s + ": expected ADDR/LEN");
  c.prefix = *prefix;
  auto ha = core::Ipv6Addr::parse(ha_s);
  if (!ha) return usage_error("--home-agent " + ha_s + ": expected an IPv6 address");
  c.home_agent = *ha;
  if (!victim_s.empty()) {
    c.victim = core::Ipv6Addr::parse(victim_s);
    if (!c.victim) return usage_error("--victim " + victim_s + ": expected an IPv6 address");
  }
  if (!victim_nat_s.empty()) {
    c.victim_nat = core::Endpoint4::parse(victim_nat_s);
    if (!c.victim_nat) return usage_error("--victim-nat " + victim_nat_s + ": A.B.C.D:PORT");
    if (!attack::allowed_address(c.victim_nat->addr))
      return usage_error("--victim-nat: refused, not a documentation/test address");
  }
  if ((c.mode == attack::Mode::kHijack) && !c.victim) return usage_error("hijack needs --victim");
  if (payload_s == "echo")
    c.payload = attack::Payload::kEcho;
  else if (payload_s != "none")
    return usage_error("--payload: none or echo");
  if (count == 0 || count > kMaxCount) return usage_error("--count: 1 to 1000000000");
  if (!(duration > 0 && duration <= kMaxDuration)) return usage_error("--duration: (0, 600] s");
  if (size > 9000) return usage_error("--size: at most 9000");
  if (mtu < 1280 || mtu > 9000) return usage_error("--mtu: 1280 to 9000");
  if (link_mtu < 576 || link_mtu > 65535) return usage_error("--link-mtu: 576 to 65535");
  if (batch < 1 || batch > 128) return usage_error("--batch: 1 to 128");
  if (run > 255) return usage_error("--run: 0 to 255");
  c.data_len = size;
  c.mtu = mtu;
  c.run = run;
  if (mns > 0 && c.mode != attack::Mode::kFlood) return usage_error("--mns: flood only");
  if (mns > attack::source_count(c)) return usage_error("--mns: at most one MN per --from address");
  c.mns = mns;
  if (!in_named_test_netns())
    return usage_error("refusing to run outside a named test namespace: use ip netns exec NS");

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) {
    std::fprintf(stderr, "m6t-attack: raw socket: %s\n", std::strerror(errno));
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(c.target.addr.value);

  std::vector<std::uint8_t> gen(attack::kMaxPayload);
  std::vector<std::uint8_t> arena(kArena);
  std::vector<iovec> iov(kMaxMsgs);
  std::vector<mmsghdr> msgs(kMaxMsgs);
  std::array<attack::Frame, attack::kMaxFrames> frames{};
  std::array<std::uint64_t, core::kDropCount + 1> intended{};

  std::uint64_t datagrams = 0, sent_frames = 0, bytes = 0, errors = 0, nobufs = 0, unsent = 0;
  std::uint64_t i = 0;
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  std::string stopped_by = "count";
  while (i < count) {
    if (g_stop) {
      stopped_by = "signal";
      break;
    }
    auto now = Clock::now();
    if (now >= end) {
      stopped_by = "duration";
      break;
    }
    if (rate > 0) {  // pace: never ahead of rate * elapsed
      double elapsed = std::chrono::duration<double>(now - start).count();
      double ahead = static_cast<double>(i) - rate * elapsed;
      if (ahead >= 1) {
        std::this_thread::sleep_for(std::chrono::duration<double>(ahead / rate));
        continue;
      }
    }
    // One batch: up to `batch` datagrams, as frames in the arena.
    std::size_t n_msgs = 0, pos = 0, in_batch = 0;
    std::uint64_t limit = rate > 0 ? std::min<std::uint64_t>(batch, 16) : batch;
    while (in_batch < limit && i < count) {
      attack::Datagram d = attack::make_datagram(c, i, gen);
      std::size_t need =
          d.payload.size() + attack::kUdpHeaderLen + attack::kMaxFrames * attack::kIpv4HeaderLen;
      if (pos + need > arena.size() || n_msgs + attack::kMaxFrames > kMaxMsgs) break;
      std::size_t nf = attack::frame_ipv4_udp(d.src, c.target, d.payload,
                                              static_cast<std::uint16_t>(i * 2654435761u), link_mtu,
                                              std::span(arena).subspan(pos), frames);
      for (std::size_t f = 0; f < nf; ++f) {
        iov[n_msgs] = {const_cast<std::uint8_t*>(frames[f].bytes.data()), frames[f].bytes.size()};
        msgs[n_msgs] = {};
        msgs[n_msgs].msg_hdr.msg_name = &dst;
        msgs[n_msgs].msg_hdr.msg_namelen = sizeof dst;
        msgs[n_msgs].msg_hdr.msg_iov = &iov[n_msgs];
        msgs[n_msgs].msg_hdr.msg_iovlen = 1;
        pos += frames[f].bytes.size();
        bytes += frames[f].bytes.size();
        ++n_msgs;
      }
      ++intended[static_cast<std::size_t>(d.intended)];
      ++i;
      ++in_batch;
      ++datagrams;
    }
    std::size_t off = 0;
    int retries = 0;
    while (off < n_msgs) {
      int r = sendmmsg(fd, &msgs[off], static_cast<unsigned>(n_msgs - off), 0);
      if (r > 0) {
        off += static_cast<std::size_t>(r);
        sent_frames += static_cast<std::uint64_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR && g_stop) break;
      if (r < 0 && (errno == ENOBUFS || errno == EAGAIN) && retries++ < 100) {
        ++nobufs;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      ++errors;  // this frame is lost: report it, go on with the others
      ++off;
    }
    unsent += n_msgs - off;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);

  std::string intent = "{";
  for (std::size_t k = 0; k <= core::kDropCount; ++k) {
    if (intended[k] == 0) continue;
    std::string name = k == core::kDropCount
                           ? "accepted"
                           : std::string(core::to_string(static_cast<core::Drop>(k)));
    if (intent.size() > 1) intent += ",";
    intent += "\"" + name + "\":" + std::to_string(intended[k]);
  }
  intent += "}";
  std::printf(
      "{\"mode\":\"%s\",\"datagrams\":%llu,\"frames\":%llu,\"bytes\":%llu,\"errors\":%llu,"
      "\"nobufs_retries\":%llu,\"unsent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"mbit_s\":%.1f,"
      "\"stopped_by\":\"%s\",\"intended\":%s}\n",
      std::string(attack::to_string(c.mode)).c_str(), static_cast<unsigned long long>(datagrams),
      static_cast<unsigned long long>(sent_frames), static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(nobufs),
      static_cast<unsigned long long>(unsent), secs,
      secs > 0 ? static_cast<double>(sent_frames) / secs : 0.0,
      secs > 0 ? static_cast<double>(bytes) * 8 / 1e6 / secs : 0.0, stopped_by.c_str(),
      intent.c_str());
  return 0;
}
