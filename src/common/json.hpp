#pragma once
// JSON parsing for input that may carry money. Boost.JSON parses; this keeps every number that is
// not an integer as its exact source text, stored as a JSON string ("0.1" stays "0.1"), so no binary
// floating-point value ever exists on the way to common::Money. Integers stay integers. Fields that
// take decimals parse that text; fields that take integers reject it like any other string.

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace common {

boost::json::value parse_json(std::string_view text, boost::system::error_code& ec);

}  // namespace common
