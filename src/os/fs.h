// Small file-system helpers shared by the adapters that keep files under /run/m6t, and the
// gateway's saved states under its state directory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "os/result.h"

namespace m6t::os {

// Creates the missing directories of `dir` (like mkdir -p), mode 0755 whatever the umask.
OsStatus make_dirs(const std::string& dir);

// Replaces `path` with `data` so that a reader, or a crash at any point, sees the old file or
// the new one whole, never a part: written to PATH.tmp (mode 0600, not following a symlink),
// flushed to disk, renamed over PATH, and the directory flushed.
OsStatus write_file_atomic(const std::string& path, std::span<const std::uint8_t> data);

// The whole file; nullopt when it does not exist. A file longer than `max_bytes` is an error
// (nothing that long is read into memory).
OsResult<std::optional<std::vector<std::uint8_t>>> read_file(const std::string& path,
                                                             std::size_t max_bytes);

}  // namespace m6t::os
