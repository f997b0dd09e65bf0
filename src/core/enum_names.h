// Stable names of enum values: one array per enum, in the enum's order, and one lookup that
// never reads out of it. Each enum with a to_string() keeps its names in such an array beside
// the function, so that a new value has one obvious place to be named.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace m6t::core {

// names[e], or "?" for a value past the array (e.g. a kCount sentinel).
template <class E, std::size_t N>
constexpr std::string_view name_of(const std::array<std::string_view, N>& names, E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : std::string_view("?");
}

}  // namespace m6t::core
