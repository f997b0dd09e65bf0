#include "core/drop.h"

namespace m6t::core {

std::uint64_t DropCounters::total() const {
  std::uint64_t t = 0;
  for (auto c : counts_)
    t += c;
  return t;
}

}  // namespace m6t::core
