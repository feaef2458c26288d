#pragma once
// The one error type of orderd: a stable machine code, a sentence for people and optional details.
// Domains throw it; the HTTP layer maps the code to the contract's status (status_for).

#include <boost/json/object.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace common {

class Error : public std::runtime_error {
 public:
  Error(std::string code, std::string message, boost::json::object details = {});

  const std::string& code() const noexcept { return code_; }
  const boost::json::object& details() const noexcept { return details_; }

 private:
  std::string code_;
  boost::json::object details_;
};

// The HTTP status the contract gives an error code; 500 for a code it does not know.
int status_for(std::string_view code) noexcept;

// Field errors collected DRF-style ({"field": ["message", ...]}) and thrown as one validation_error.
class FieldErrors {
 public:
  void add(std::string_view field, std::string_view message);
  bool empty() const noexcept { return fields_.empty(); }
  // Throws validation_error with the collected fields, if there are any.
  void raise_if_any() const;

 private:
  boost::json::object fields_;
};

}  // namespace common
