// Cluster descriptions (src/app/cluster.cc) on arbitrary bytes. Checked: no crash, no exception
// escapes, a refusal is one non-empty line; an accepted description generates a BIRD
// configuration for every node and, for every gateway, m6t settings that the gateway's own
// validator accepts (listen, announce and table agree with its checks: each slice inside the
// prefix, on an address it listens on).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "app/cluster.h"
#include "app/settings.h"

using namespace m6t;
using namespace m6t::app;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = parse_cluster(text, "c.toml");
  if (auto* e = std::get_if<std::string>(&r)) {
    if (e->empty() || e->find('\n') != std::string::npos) std::abort();
    return 0;
  }
  const Cluster& c = std::get<Cluster>(r);
  for (const auto& rt : c.routers)
    if (bird_config(c, rt.name, "c.toml").find("router id ") == std::string::npos) std::abort();
  static const int fd = ::memfd_create("m6t-fuzz-cluster.toml", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) std::abort();
  for (const auto& g : c.gateways) {
    if (bird_config(c, g.name, "c.toml").find("protocol bgp ") == std::string::npos) std::abort();
    const std::string m =
        gateway_settings(c, g.name, "c.toml") + "home-agent = [\"2001:db8:1::2\"]\n";
    if (::ftruncate(fd, 0) < 0 ||
        ::pwrite(fd, m.data(), m.size(), 0) != static_cast<ssize_t>(m.size()))
      std::abort();
    RawOptions raw;
    if (load_config(path, "gateway", gateway_options().specs(), raw)) std::abort();
    GatewaySettings s;
    if (auto e = validate(raw, s)) {
      // A home agent inside the MN prefix is the description's only way to be refused here.
      if (e->message.find("home-agent") == std::string::npos) std::abort();
    }
  }
  return 0;
}
