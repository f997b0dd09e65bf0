// §2.5: "some local synchronization is required to prevent the simultaneous use of identical
// 48 bits random values" by the tunnel interfaces of one MN that share a /80. Each client
// claims its value by holding an flock(2) on a file named after the /80 and the value, in a
// directory all clients of the host share. The kernel drops the lock when the holder exits,
// however it exits, so a crashed client never blocks a value; a leftover file is harmless.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/address.h"
#include "core/client_engine.h"
#include "os/result.h"

namespace m6t::os {

class FileClaims final : public core::Random48Claims {
 public:
  // `dir` is created (0755) when missing; the error names it when it cannot be.
  static OsResult<std::unique_ptr<FileClaims>> open(const std::string& dir,
                                                    const core::Ipv6Prefix& prefix);
  ~FileClaims() override;
  FileClaims(const FileClaims&) = delete;
  FileClaims& operator=(const FileClaims&) = delete;

  // False when another process holds the value, and also when the file cannot be created or
  // locked (a value we cannot prove unused is not used).
  bool claim(std::uint64_t value) override;
  void release(std::uint64_t value) override;

  std::string path_of(std::uint64_t value) const;
  std::uint64_t errors() const { return errors_; }

 private:
  FileClaims(std::string dir, std::string stem) : dir_(std::move(dir)), stem_(std::move(stem)) {}
  std::string dir_;
  std::string stem_;                   // the /80's first 80 bits in hex
  std::map<std::uint64_t, int> held_;  // value -> locked fd
  std::uint64_t errors_ = 0;
};

}  // namespace m6t::os
