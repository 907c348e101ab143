#pragma once
// Enum <-> text as one table per enum instead of a switch each way: the table is the single list
// of values and their names, and both directions read it.
#include <cstddef>
#include <optional>
#include <string_view>

namespace taskman {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

// The name of `value`, or `fallback` when the table lacks it.
template <class E, std::size_t N>
constexpr std::string_view enum_name(const EnumName<E> (&table)[N], E value, std::string_view fallback) {
  for (const auto& e : table) {
    if (e.value == value) return e.name;
  }
  return fallback;
}

// The value named `name` (exact match), or nullopt.
template <class E, std::size_t N>
constexpr std::optional<E> enum_from_name(const EnumName<E> (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return e.value;
  }
  return std::nullopt;
}

}  // namespace taskman
