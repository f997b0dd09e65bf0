// A value or the reason it could not be produced. Decoders return this rather than throw.
#pragma once

#include <utility>

#include "core/drop.h"

namespace m6t::core {

template <class T, class E = Drop>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), ok_(true) {}  // NOLINT: implicit by design
  Result(E error) : error_(error), ok_(false) {}            // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }
  E error() const { return error_; }

 private:
  T value_{};
  E error_{};
  bool ok_;
};

}  // namespace m6t::core
