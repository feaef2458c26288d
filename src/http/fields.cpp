#include "http/fields.hpp"

#include "common/json.hpp"
#include "common/text.hpp"

namespace http {
namespace {
const boost::json::object kEmpty;
}

Fields::Fields(const boost::json::value& body) : object_(body.is_object() ? body.get_object() : kEmpty) {}

bool Fields::has(std::string_view name) const {
  const auto* v = object_.if_contains(name);
  return v != nullptr && !v->is_null();
}

const boost::json::value* Fields::raw(std::string_view name) const { return object_.if_contains(name); }

std::optional<std::string> Fields::text(std::string_view name, bool required) {
  const auto* v = object_.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required) errors_.add(name, "This field is required.");
    return std::nullopt;
  }
  if (!v->is_string()) {
    errors_.add(name, "Not a valid string.");
    return std::nullopt;
  }
  if (common::has_null(v->get_string())) {
    errors_.add(name, common::kNullCharacters);
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<std::int64_t> Fields::integer(std::string_view name, bool required) {
  const auto* v = object_.if_contains(name);
  if (v != nullptr && !v->is_null() && !v->is_int64() && !v->is_uint64()) {
    errors_.add(name, "A valid integer is required.");
    return std::nullopt;
  }
  return drf_integer(name, required);
}

std::optional<std::int64_t> Fields::drf_integer(std::string_view name, bool required) {
  const auto* v = object_.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required) errors_.add(name, "This field is required.");
    return std::nullopt;
  }
  std::int64_t value = 0;
  switch (common::read_integer(*v, value)) {
    case common::IntegerRead::integer: return value;
    case common::IntegerRead::too_large: errors_.add(name, "Ensure this value is a reasonable integer."); break;
    case common::IntegerRead::not_integer: errors_.add(name, "A valid integer is required."); break;
  }
  return std::nullopt;
}

}  // namespace http
