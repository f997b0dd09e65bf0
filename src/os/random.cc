#include "os/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace m6t::os {

void SystemRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // Without flags getrandom(2) only fails with EFAULT/EINVAL (bugs) or ENOSYS (pre-3.17
    // kernel). Tunnel addresses (§2.2) and the ULA Global ID (RFC 4193) must be unpredictable,
    // and this interface has no error path, so stopping is the only safe answer.
    std::fprintf(stderr, "m6t: getrandom: %s\n", std::strerror(n < 0 ? errno : EIO));
    std::abort();
  }
}

}  // namespace m6t::os
