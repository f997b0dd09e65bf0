#include "os/fastpath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/fastpath_abi.h"
// The skeleton embeds the programs' object file as one string literal, longer than the
// C++ standard's minimum that -Wpedantic holds clang to.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Woverlength-strings"
#endif
#include "bpf/m6t_fastpath.skel.h"
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
#include "core/wire.h"

// What the programs repeat of the protocol's constants (fastpath_abi.h) is the protocol's.
static_assert(M6T_FP_IPV6_HLEN == m6t::wire::kIpv6HeaderLen);
static_assert(M6T_FP_IPV4_HLEN == m6t::wire::kIpv4HeaderLen);
static_assert(M6T_FP_UDP_HLEN == m6t::wire::kUdpHeaderLen);
static_assert(M6T_FP_ENCAP_LEN == m6t::wire::kEncapOverhead);

// tcx (Linux 6.6) postdates the Debian 12 headers this builds with (linux-libc-dev 6.1): the
// attach types' values are the kernel's ABI (include/uapi/linux/bpf.h, enum bpf_attach_type).
#ifndef BPF_TCX_INGRESS
#define M6T_BPF_TCX_INGRESS static_cast<bpf_attach_type>(46)
#define M6T_BPF_TCX_EGRESS static_cast<bpf_attach_type>(47)
#else
#define M6T_BPF_TCX_INGRESS BPF_TCX_INGRESS
#define M6T_BPF_TCX_EGRESS BPF_TCX_EGRESS
#endif

namespace m6t::os {

namespace {

std::string libbpf_error(const std::string& what, int err) {
  char buf[128];
  libbpf_strerror(err, buf, sizeof buf);
  return what + ": " + buf;
}

m6t_fp_in6 in6(const core::Ipv6Addr& a) {
  m6t_fp_in6 k{};
  std::memcpy(k.b, a.b.data(), sizeof k.b);
  return k;
}

// Libbpf logs to stderr by default; the daemon's log has the one line that matters.
int quiet(libbpf_print_level level, const char*, va_list) {
  (void)level;
  return 0;
}

}  // namespace

core::Time from_ktime(std::uint64_t ns) {
  return core::Time{core::Duration{static_cast<core::Duration::rep>(ns)}};
}

FastPathCpuCounters FastPathCounters::total() const {
  FastPathCpuCounters t;
  for (const auto& c : per_cpu) {
    t.forwarded_in.packets += c.forwarded_in.packets;
    t.forwarded_in.bytes += c.forwarded_in.bytes;
    t.forwarded_out.packets += c.forwarded_out.packets;
    t.forwarded_out.bytes += c.forwarded_out.bytes;
    t.passed += c.passed;
    t.failed += c.failed;
  }
  return t;
}

// The loaded object and where its programs are attached.
class FastPathHooks {
 public:
  enum class Where { kIngress, kEgress };

  ~FastPathHooks() {
    for (auto& a : attached_)
      detach(a);
    if (skel_) m6t_fastpath__destroy(skel_);
  }

  m6t_fastpath* skel() const { return skel_; }
  const std::string& mode() const { return mode_; }

  static OsResult<std::unique_ptr<FastPathHooks>> load(bool gateway, std::uint32_t max_states,
                                                       bool test_run = false) {
    libbpf_set_print(quiet);
    auto hooks = std::unique_ptr<FastPathHooks>(new FastPathHooks);
    hooks->skel_ = m6t_fastpath__open();
    if (!hooks->skel_) return OsError{libbpf_error("open the fast-path programs", -errno)};
    m6t_fastpath* s = hooks->skel_;
    if (test_run) s->rodata->egress_l2_len = M6T_FP_ETH_HLEN;
    bpf_program__set_autoload(s->progs.m6t_gw_from_nat, gateway);
    bpf_program__set_autoload(s->progs.m6t_gw_to_mn, gateway);
    bpf_program__set_autoload(s->progs.m6t_cl_from_gw, !gateway);
    bpf_program__set_autoload(s->progs.m6t_cl_to_gw, !gateway);
    // Only active states are mirrored, and there are at most --max-states of them; entries
    // are allocated as states are activated, not all at start.
    const std::uint32_t entries = gateway ? std::max<std::uint32_t>(max_states, 1) : 1;
    for (bpf_map* m : {s->maps.gw_states, s->maps.gw_activity}) {
      bpf_map__set_max_entries(m, entries);
      bpf_map__set_map_flags(m, BPF_F_NO_PREALLOC);
    }
    if (int err = m6t_fastpath__load(s); err)
      return OsError{libbpf_error("load the fast-path programs", err)};
    return hooks;
  }

  OsStatus attach(bpf_program* prog, int ifindex, Where where) {
    const int prog_fd = bpf_program__fd(prog);
    Attachment a{ifindex, where, -1, {}, {}, prog_fd};
    // tcx first: a link the kernel removes with the daemon's descriptors.
    a.link_fd = bpf_link_create(prog_fd, ifindex,
                                where == Where::kIngress ? M6T_BPF_TCX_INGRESS : M6T_BPF_TCX_EGRESS,
                                nullptr);
    if (a.link_fd >= 0) {
      mode_ = "tcx";
      attached_.push_back(a);
      return Ok{};
    }
    // Older kernels: a clsact qdisc (created if missing) and a direct-action filter.
    a.hook = bpf_tc_hook{};
    a.hook.sz = sizeof a.hook;
    a.hook.ifindex = ifindex;
    a.hook.attach_point = where == Where::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    int err = bpf_tc_hook_create(&a.hook);
    if (err && err != -EEXIST) return OsError{libbpf_error("create clsact qdisc", err)};
    a.opts = bpf_tc_opts{};
    a.opts.sz = sizeof a.opts;
    a.opts.prog_fd = prog_fd;
    err = bpf_tc_attach(&a.hook, &a.opts);
    if (err) return OsError{libbpf_error("attach at the TC hook", err)};
    mode_ = "cls_bpf";
    attached_.push_back(a);
    return Ok{};
  }

  void detach_all(bpf_program* prog) {
    const int prog_fd = bpf_program__fd(prog);
    for (auto it = attached_.begin(); it != attached_.end();) {
      if (it->prog_fd == prog_fd) {
        detach(*it);
        it = attached_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Attachment {
    int ifindex;
    Where where;
    int link_fd;
    bpf_tc_hook hook;
    bpf_tc_opts opts;
    int prog_fd = -1;
  };

  FastPathHooks() = default;

  static void detach(Attachment& a) {
    if (a.link_fd >= 0) {
      ::close(a.link_fd);
      return;
    }
    bpf_tc_opts o{};
    o.sz = sizeof o;
    o.handle = a.opts.handle;
    o.priority = a.opts.priority;
    bpf_tc_detach(&a.hook, &o);
  }

  m6t_fastpath* skel_ = nullptr;
  std::string mode_ = "none";
  std::vector<Attachment> attached_;
};

namespace {

OsResult<FastPathRun> test_run(bpf_program* prog, std::span<const std::uint8_t> frame) {
  FastPathRun r;
  r.frame.resize(frame.size() + 256);
  bpf_test_run_opts o{};
  o.sz = sizeof o;
  o.data_in = frame.data();
  o.data_size_in = static_cast<__u32>(frame.size());
  o.data_out = r.frame.data();
  o.data_size_out = static_cast<__u32>(r.frame.size());
  o.repeat = 1;
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o); err)
    return OsError{libbpf_error("BPF_PROG_TEST_RUN", err)};
  r.verdict = static_cast<int>(o.retval);
  r.frame.resize(o.data_size_out);
  return r;
}

FastPathCounters read_counters(const FastPathHooks& hooks, std::uint64_t map_errors) {
  FastPathCounters out;
  out.map_errors = map_errors;
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<m6t_fp_count> values(static_cast<std::size_t>(ncpu));
  out.per_cpu.resize(values.size());
  const int fd = bpf_map__fd(hooks.skel()->maps.fp_counters);
  for (std::uint32_t k = 0; k < M6T_FP_COUNTERS; ++k) {
    if (bpf_map_lookup_elem(fd, &k, values.data()) != 0) continue;
    for (std::size_t cpu = 0; cpu < values.size(); ++cpu) {
      auto& c = out.per_cpu[cpu];
      const auto& v = values[cpu];
      switch (k) {
        case M6T_FP_FORWARDED_IN:
          c.forwarded_in = {v.packets, v.bytes};
          break;
        case M6T_FP_FORWARDED_OUT:
          c.forwarded_out = {v.packets, v.bytes};
          break;
        case M6T_FP_PASSED:
          c.passed = v.packets;
          break;
        case M6T_FP_FAILED:
          c.failed = v.packets;
          break;
        default:
          break;
      }
    }
  }
  return out;
}

std::optional<core::Time> since_ktime(std::uint64_t ns) {
  if (ns == 0) return std::nullopt;
  return from_ktime(ns);
}

}  // namespace

// --- gateway ---------------------------------------------------------------------------------

namespace {

OsResult<std::unique_ptr<FastPathHooks>> load_gateway(const GatewayFastPath::Config& c,
                                                      bool test_run) {
  if (c.listen.size() > M6T_FP_MAX_LISTENERS || c.home_agents.size() > M6T_FP_MAX_HOME_AGENTS)
    return OsError{"more listening endpoints or home agents than the fast path holds"};
  auto hooks = FastPathHooks::load(true, c.max_states, test_run);
  if (!hooks) return OsError{hooks.error()};
  m6t_fastpath* s = (*hooks)->skel();
  const std::uint32_t zero = 0;
  m6t_fp_gw_config cfg{static_cast<std::uint32_t>(c.tun_ifindex), c.mtu};
  if (bpf_map_update_elem(bpf_map__fd(s->maps.gw_config), &zero, &cfg, BPF_ANY) != 0)
    return errno_error("fast path: gateway configuration");
  for (std::uint32_t i = 0; i < c.listen.size(); ++i) {
    m6t_fp_listen k{htonl(c.listen[i].addr.value), htons(c.listen[i].port), 0};
    if (bpf_map_update_elem(bpf_map__fd(s->maps.gw_listen), &k, &i, BPF_ANY) != 0)
      return errno_error("fast path: listening endpoint");
  }
  const std::uint8_t one = 1;
  for (const auto& ha : c.home_agents) {
    m6t_fp_in6 k = in6(ha);
    if (bpf_map_update_elem(bpf_map__fd(s->maps.gw_home_agents), &k, &one, BPF_ANY) != 0)
      return errno_error("fast path: home agent");
  }
  return hooks;
}

}  // namespace

OsStatus GatewayFastPath::set_home_agents(const std::vector<core::Ipv6Addr>& before,
                                          const std::vector<core::Ipv6Addr>& now) {
  if (now.size() > M6T_FP_MAX_HOME_AGENTS)
    return OsError{"more home agents than the fast path holds"};
  const int fd = bpf_map__fd(hooks_->skel()->maps.gw_home_agents);
  for (const auto& ha : before) {
    if (std::find(now.begin(), now.end(), ha) != now.end()) continue;
    m6t_fp_in6 k = in6(ha);
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT)
      return errno_error("fast path: remove home agent");
  }
  const std::uint8_t one = 1;
  for (const auto& ha : now) {
    m6t_fp_in6 k = in6(ha);
    if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0)
      return errno_error("fast path: home agent");
  }
  return Ok{};
}

void GatewayFastPath::set_listener(std::uint32_t index, const core::Endpoint4& local) {
  if (index >= M6T_FP_MAX_LISTENERS) return;
  m6t_fp_listen k{htonl(local.addr.value), htons(local.port), 0};
  if (bpf_map_update_elem(bpf_map__fd(hooks_->skel()->maps.gw_listen), &k, &index, BPF_ANY) != 0)
    ++map_errors_;
}

void GatewayFastPath::clear_listener(const core::Endpoint4& local) {
  m6t_fp_listen k{htonl(local.addr.value), htons(local.port), 0};
  bpf_map_delete_elem(bpf_map__fd(hooks_->skel()->maps.gw_listen), &k);
}

OsResult<std::unique_ptr<GatewayFastPath>> GatewayFastPath::open_for_test(const Config& c) {
  auto hooks = load_gateway(c, true);
  if (!hooks) return OsError{hooks.error()};
  auto fp = std::unique_ptr<GatewayFastPath>(new GatewayFastPath);
  fp->hooks_ = std::move(*hooks);
  return fp;
}

OsResult<FastPathRun> GatewayFastPath::run(FastPathProgram p,
                                           std::span<const std::uint8_t> frame) const {
  m6t_fastpath* s = hooks_->skel();
  return test_run(
      p == FastPathProgram::kFromPeer ? s->progs.m6t_gw_from_nat : s->progs.m6t_gw_to_mn, frame);
}

OsResult<std::unique_ptr<GatewayFastPath>> GatewayFastPath::open(const Config& c) {
  auto hooks = load_gateway(c, false);
  if (!hooks) return OsError{hooks.error()};
  m6t_fastpath* s = (*hooks)->skel();
  for (int ifindex : c.ingress_ifindexes) {
    if (auto st =
            (*hooks)->attach(s->progs.m6t_gw_from_nat, ifindex, FastPathHooks::Where::kIngress);
        !st)
      return OsError{st.error()};
  }
  if (auto st =
          (*hooks)->attach(s->progs.m6t_gw_to_mn, c.tun_ifindex, FastPathHooks::Where::kEgress);
      !st)
    return OsError{st.error()};
  auto fp = std::unique_ptr<GatewayFastPath>(new GatewayFastPath);
  fp->hooks_ = std::move(*hooks);
  return fp;
}

GatewayFastPath::~GatewayFastPath() = default;

void GatewayFastPath::write(const core::State& st, bool create) {
  m6t_fastpath* s = hooks_->skel();
  const m6t_fp_in6 key = in6(st.mn);
  if (create) {
    const m6t_fp_activity fresh{};
    if (bpf_map_update_elem(bpf_map__fd(s->maps.gw_activity), &key, &fresh, BPF_ANY) != 0) {
      ++map_errors_;
      return;
    }
  }
  m6t_fp_gw_state v{};
  v.nat_addr = htonl(st.binding.remote.addr.value);
  v.local_addr = htonl(st.binding.local.addr.value);
  v.nat_port = htons(st.binding.remote.port);
  v.local_port = htons(st.binding.local.port);
  v.ifindex = st.ifindex;
  v.mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(st.path.mtu, 0xffff));
  v.df = st.path.df ? 1 : 0;
  // Without the interface of the MN's datagrams the answers' way out is unknown: the state
  // stays with user space.
  if (st.ifindex == 0) return;
  if (bpf_map_update_elem(bpf_map__fd(s->maps.gw_states), &key, &v,
                          create ? BPF_NOEXIST : BPF_EXIST) != 0) {
    ++map_errors_;
    return;
  }
  if (create) ++mirrored_;
}

void GatewayFastPath::activated(const core::State& s) {
  write(s, true);
}

void GatewayFastPath::path_changed(const core::State& s) {
  write(s, false);
}

void GatewayFastPath::removed(const core::State& st) {
  m6t_fastpath* s = hooks_->skel();
  const m6t_fp_in6 key = in6(st.mn);
  if (bpf_map_delete_elem(bpf_map__fd(s->maps.gw_states), &key) == 0 && mirrored_ > 0) --mirrored_;
  bpf_map_delete_elem(bpf_map__fd(s->maps.gw_activity), &key);
}

std::optional<core::MirrorActivity> GatewayFastPath::activity(const core::State& st) const {
  const m6t_fp_in6 key = in6(st.mn);
  m6t_fp_activity a{};
  if (bpf_map_lookup_elem(bpf_map__fd(hooks_->skel()->maps.gw_activity), &key, &a) != 0)
    return std::nullopt;
  return core::MirrorActivity{{a.in_packets, a.in_bytes},
                              {a.out_packets, a.out_bytes},
                              since_ktime(a.last_in_ns),
                              since_ktime(a.last_out_ns)};
}

FastPathCounters GatewayFastPath::counters() const {
  return read_counters(*hooks_, map_errors_);
}

const std::string& GatewayFastPath::attach_mode() const {
  return hooks_->mode();
}

// --- client ----------------------------------------------------------------------------------

OsResult<std::unique_ptr<ClientFastPath>> ClientFastPath::open_for_test(const Config& c) {
  auto hooks = FastPathHooks::load(false, 1, true);
  if (!hooks) return OsError{hooks.error()};
  auto fp = std::unique_ptr<ClientFastPath>(new ClientFastPath);
  fp->hooks_ = std::move(*hooks);
  fp->config_ = c;
  fp->test_ = true;
  return fp;
}

OsResult<FastPathRun> ClientFastPath::run(FastPathProgram p,
                                          std::span<const std::uint8_t> frame) const {
  m6t_fastpath* s = hooks_->skel();
  return test_run(p == FastPathProgram::kFromPeer ? s->progs.m6t_cl_from_gw : s->progs.m6t_cl_to_gw,
                  frame);
}

OsResult<std::unique_ptr<ClientFastPath>> ClientFastPath::open(const Config& c) {
  auto hooks = FastPathHooks::load(false, 1);
  if (!hooks) return OsError{hooks.error()};
  m6t_fastpath* s = (*hooks)->skel();
  if (auto st =
          (*hooks)->attach(s->progs.m6t_cl_to_gw, c.tun_ifindex, FastPathHooks::Where::kEgress);
      !st)
    return OsError{st.error()};
  auto fp = std::unique_ptr<ClientFastPath>(new ClientFastPath);
  fp->hooks_ = std::move(*hooks);
  fp->config_ = c;
  return fp;
}

ClientFastPath::~ClientFastPath() = default;

OsStatus ClientFastPath::set_attachment(const core::Endpoint4& local, int uplink_ifindex) {
  if (active_) removed();
  local_ = local;
  if (uplink_ifindex == uplink_ifindex_) return Ok{};
  if (test_) {
    uplink_ifindex_ = uplink_ifindex;
    return Ok{};
  }
  m6t_fastpath* s = hooks_->skel();
  hooks_->detach_all(s->progs.m6t_cl_from_gw);
  uplink_ifindex_ = 0;
  if (uplink_ifindex <= 0) return Ok{};
  if (auto st =
          hooks_->attach(s->progs.m6t_cl_from_gw, uplink_ifindex, FastPathHooks::Where::kIngress);
      !st)
    return st;
  uplink_ifindex_ = uplink_ifindex;
  return Ok{};
}

void ClientFastPath::write(const core::TunnelBinding& t, bool active) {
  m6t_fastpath* s = hooks_->skel();
  const std::uint32_t zero = 0;
  m6t_fp_cl_tunnel v{};
  v.address = in6(t.address);
  v.local_addr = htonl(local_.addr.value);
  v.gw_addr = htonl(t.gateway.addr.value);
  v.local_port = htons(local_.port);
  v.gw_port = htons(t.gateway.port);
  v.tun_ifindex = static_cast<std::uint32_t>(config_.tun_ifindex);
  v.uplink_ifindex = static_cast<std::uint32_t>(uplink_ifindex_);
  v.mtu = config_.mtu;
  v.path_mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(t.mtu, 0xffff));
  v.df = t.df ? 1 : 0;
  // Only with the attachment's socket and uplink known (set_attachment).
  v.active = active && uplink_ifindex_ > 0 && local_.port != 0 ? 1 : 0;
  if (bpf_map_update_elem(bpf_map__fd(s->maps.cl_tunnel), &zero, &v, BPF_ANY) != 0) {
    ++map_errors_;
    return;
  }
  active_ = v.active != 0;
}

void ClientFastPath::activated(const core::TunnelBinding& t) {
  // A new binding starts with no packet seen; the counters run on over the daemon's life.
  const std::uint32_t zero = 0;
  const int fd = bpf_map__fd(hooks_->skel()->maps.cl_activity);
  m6t_fp_activity a{};
  bpf_map_lookup_elem(fd, &zero, &a);
  a.last_in_ns = a.last_out_ns = a.awaiting_since_ns = 0;
  if (bpf_map_update_elem(fd, &zero, &a, BPF_ANY) != 0) ++map_errors_;
  write(t, true);
}

void ClientFastPath::path_changed(const core::TunnelBinding& t) {
  if (active_) write(t, true);
}

void ClientFastPath::removed() {
  write({}, false);
  active_ = false;
}

std::optional<core::TunnelActivity> ClientFastPath::activity() const {
  const std::uint32_t zero = 0;
  m6t_fp_activity a{};
  if (bpf_map_lookup_elem(bpf_map__fd(hooks_->skel()->maps.cl_activity), &zero, &a) != 0)
    return std::nullopt;
  return core::TunnelActivity{{a.out_packets, a.out_bytes},
                              {a.in_packets, a.in_bytes},
                              since_ktime(a.last_out_ns),
                              since_ktime(a.last_in_ns),
                              since_ktime(a.awaiting_since_ns)};
}

FastPathCounters ClientFastPath::counters() const {
  return read_counters(*hooks_, map_errors_);
}

const std::string& ClientFastPath::attach_mode() const {
  return hooks_->mode();
}

}  // namespace m6t::os
