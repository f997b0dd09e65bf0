// The kernel fast path (src/bpf/m6t_fastpath.bpf.c): its programs loaded from the m6t binary
// (a libbpf skeleton), attached at the TC hooks, and its maps kept in step with the engines.
// The engines stay the one authority: they tell these mirrors of every state they activate,
// change or remove (core/state_table.h StateMirror, core/client_engine.h TunnelMirror), and
// read back what the programs forwarded.
//
// Loading and attaching need privileges (CAP_BPF, CAP_NET_ADMIN): it happens before the daemon
// drops them. Map updates through the descriptors it holds need none (Linux >= 5.19 checks
// privileges only when a map or program is created). The hooks are attached as tcx links
// (Linux >= 6.6), which the kernel removes when the daemon's descriptors close, whatever way
// it dies; older kernels get classic cls_bpf filters, removed at exit.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/client_engine.h"
#include "core/state_table.h"
#include "os/result.h"

namespace m6t::os {

// What each core did (the per-CPU counters of the programs).
struct FastPathCpuCounters {
  core::Flow forwarded_in;   // decapsulated toward the home side (gateway) or host (client)
  core::Flow forwarded_out;  // encapsulated toward an MN (gateway) or the gateway (client)
  std::uint64_t passed = 0;  // m6t traffic left to user space
  std::uint64_t failed = 0;  // dropped because a kernel helper failed mid-way
};

struct FastPathCounters {
  std::vector<FastPathCpuCounters> per_cpu;
  FastPathCpuCounters total() const;
  std::uint64_t map_errors = 0;  // map updates the kernel refused (the state stays slow)
};

class FastPathHooks;  // fastpath.cc: the attached programs

// For the tests and the fuzz target that hold the programs to the engines' verdicts: the
// programs loaded but not attached, run on frames with BPF_PROG_TEST_RUN (which always
// builds an Ethernet frame, so the TUN-egress programs then expect one in front).
struct FastPathRun {
  int verdict = 0;  // TC_ACT_*: -1 left alone (TC_ACT_UNSPEC), 2 dropped, 7 redirected
  std::vector<std::uint8_t> frame;  // the frame after the program
};
enum class FastPathProgram { kFromPeer, kToPeer };  // ingress of the IPv4 side, TUN egress

class GatewayFastPath final : public core::StateMirror {
 public:
  struct Config {
    int tun_ifindex = 0;
    std::uint32_t mtu = 0;
    std::uint32_t max_states = 0;
    std::vector<core::Endpoint4> listen;
    std::vector<core::Ipv6Addr> home_agents;
    std::vector<int> ingress_ifindexes;  // the interfaces datagrams to `listen` arrive on
  };
  static OsResult<std::unique_ptr<GatewayFastPath>> open(const Config& config);
  // Loaded and configured, attached nowhere: for run() (FastPathRun).
  static OsResult<std::unique_ptr<GatewayFastPath>> open_for_test(const Config& config);
  ~GatewayFastPath() override;
  OsResult<FastPathRun> run(FastPathProgram p, std::span<const std::uint8_t> frame) const;

  void activated(const core::State& s) override;
  void path_changed(const core::State& s) override;
  void removed(const core::State& s) override;
  std::optional<core::MirrorActivity> activity(const core::State& s) const override;

  FastPathCounters counters() const;
  // "tcx" or "cls_bpf": how the programs are attached.
  const std::string& attach_mode() const;
  std::size_t mirrored() const { return mirrored_; }
  // A reload changed the home agents: the programs forward to `now` only (those removed go
  // first, so that no packet reaches one that is no longer allowed).
  OsStatus set_home_agents(const std::vector<core::Ipv6Addr>& before,
                           const std::vector<core::Ipv6Addr>& now);
  // A reload added or removed a listen address. One the programs do not know, or one past
  // their table, is served by user space (its datagrams pass untouched).
  void set_listener(std::uint32_t index, const core::Endpoint4& local);
  void clear_listener(const core::Endpoint4& local);

 private:
  GatewayFastPath() = default;
  void write(const core::State& s, bool create);

  std::unique_ptr<FastPathHooks> hooks_;
  std::size_t mirrored_ = 0;
  std::uint64_t map_errors_ = 0;
};

class ClientFastPath final : public core::TunnelMirror {
 public:
  struct Config {
    int tun_ifindex = 0;
    std::uint32_t mtu = 0;
  };
  static OsResult<std::unique_ptr<ClientFastPath>> open(const Config& config);
  static OsResult<std::unique_ptr<ClientFastPath>> open_for_test(const Config& config);
  ~ClientFastPath() override;
  OsResult<FastPathRun> run(FastPathProgram p, std::span<const std::uint8_t> frame) const;

  // The attachment's socket and uplink: set before the tunnel can be activated (each new
  // attachment has its own, §3); the ingress program moves to the uplink's interface.
  OsStatus set_attachment(const core::Endpoint4& local, int uplink_ifindex);

  void activated(const core::TunnelBinding& t) override;
  void path_changed(const core::TunnelBinding& t) override;
  void removed() override;
  std::optional<core::TunnelActivity> activity() const override;

  FastPathCounters counters() const;
  const std::string& attach_mode() const;
  bool active() const { return active_; }

 private:
  ClientFastPath() = default;
  void write(const core::TunnelBinding& t, bool active);

  std::unique_ptr<FastPathHooks> hooks_;
  Config config_;
  core::Endpoint4 local_;
  int uplink_ifindex_ = 0;
  bool active_ = false;
  bool test_ = false;  // open_for_test: nothing is attached
  std::uint64_t map_errors_ = 0;
};

// CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) as the core's time.
core::Time from_ktime(std::uint64_t ns);

}  // namespace m6t::os
