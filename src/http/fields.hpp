#pragma once
// Reads typed fields out of a JSON request body and collects DRF-style errors per field, so a
// handler reports every problem of a request at once: {"email": ["This field is required."]}.

#include "common/error.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace http {

class Fields {
 public:
  explicit Fields(const boost::json::value& body);

  bool has(std::string_view name) const;
  // A string field; required ones that are missing or null record "This field is required.".
  std::optional<std::string> text(std::string_view name, bool required = true);
  // An integer field given as a JSON integer (not a string, not a fraction).
  std::optional<std::int64_t> integer(std::string_view name, bool required = true);
  // An old route's integer field, read as DRF's IntegerField read it: "2" and 2.0 too (common::read_integer).
  std::optional<std::int64_t> drf_integer(std::string_view name, bool required = true);
  const boost::json::value* raw(std::string_view name) const;

  void error(std::string_view name, std::string_view message) { errors_.add(name, message); }
  // For checks that live elsewhere and record into FieldErrors themselves (payments::parse_card).
  common::FieldErrors& errors() { return errors_; }
  bool ok() const { return errors_.empty(); }
  // Throws validation_error when any field failed.
  void check() const { errors_.raise_if_any(); }

 private:
  const boost::json::object& object_;
  common::FieldErrors errors_;
};

}  // namespace http
