// OS-layer results: a value or an error message naming what failed and why (errno text).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace m6t::os {

struct OsError {
  std::string message;  // e.g. "open /dev/net/tun: No such file or directory"
};

template <class T>
class [[nodiscard]] OsResult {
 public:
  OsResult(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  OsResult(OsError error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, OsError> v_;
};

// For operations with no value.
struct Ok {};
using OsStatus = OsResult<Ok>;

// "what: strerror(errno)"
OsError errno_error(const std::string& what);
OsError errno_error(const std::string& what, int err);

}  // namespace m6t::os
