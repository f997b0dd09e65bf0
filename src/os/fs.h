// Small file-system helpers shared by the adapters that keep files under /run/m6t.
#pragma once

#include <string>

#include "os/result.h"

namespace m6t::os {

// Creates the missing directories of `dir` (like mkdir -p), mode 0755 whatever the umask.
OsStatus make_dirs(const std::string& dir);

}  // namespace m6t::os
