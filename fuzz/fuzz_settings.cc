// Configuration files (src/app/settings.cc: toml++ and the validators of both daemons) on
// arbitrary bytes. Checked: no crash, no exception escapes, every refusal is one non-empty
// line, and accepted settings are within the bounds the validators promise.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "app/settings.h"
#include "core/wire.h"

using namespace m6t;
using namespace m6t::app;

namespace {

void check_error(const std::optional<SettingsError>& e) {
  if (e && (e->message.empty() || e->message.find('\n') != std::string::npos)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The loader reads a path: a memory file stands for it.
  static const int fd = ::memfd_create("m6t-fuzz.toml", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) std::abort();
  if (::ftruncate(fd, 0) < 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    std::abort();

  std::vector<std::string> sections;
  check_error(config_sections(path, sections));
  {
    RawOptions raw;
    auto e = load_config(path, "gateway", gateway_options().specs(), raw);
    check_error(e);
    if (!e) {
      GatewaySettings g;
      auto v = validate(raw, g);
      check_error(v);
      if (!v) {
        const auto& eng = g.engine;
        if (g.listen.empty() || eng.home_agents.empty() || eng.mn_prefix.len > wire::kMnPrefixLen ||
            eng.mtu < wire::kMinIpv6Mtu || eng.mtu > wire::kMaxMtu ||
            eng.states.max_temp_states > eng.states.max_states || g.control.empty())
          std::abort();
        for (const auto& h : eng.home_agents)
          if (eng.mn_prefix.contains(h) || h.is_multicast()) std::abort();
      }
    }
  }
  {
    RawOptions raw;
    auto e = load_config(path, "client", client_options().specs(), raw);
    check_error(e);
    if (!e) {
      ClientSettings c;
      auto v = validate(raw, c);
      check_error(v);
      if (!v) {
        const auto& eng = c.engine;
        // Gateways by name leave the engine's list to the resolver: the literals only.
        std::size_t literals = 0;
        for (const auto& g : c.gateway_specs)
          literals += g.literal ? 1 : 0;
        if (c.gateway_specs.empty() || eng.gateways.size() != literals ||
            eng.prefix.len != wire::kMnPrefixLen || eng.mtu < wire::kMinIpv6Mtu ||
            eng.mtu > wire::kMaxMtu || c.control.empty() ||
            (!c.hook.empty() && c.hook.front() != '/'))
          std::abort();
      }
    }
  }
  return 0;
}
