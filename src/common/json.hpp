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

// An integer as DRF's IntegerField took one, so the old clients' bodies still work: a JSON integer,
// or the text of one ("2", " 2 ", "+2", "2.0"; the number 2.0 arrives as that text, above). Not
// "2.5", "1e3", "" or a boolean. `too_large`: an integer beyond 64 bits.
enum class IntegerRead { integer, not_integer, too_large };
IntegerRead read_integer(const boost::json::value& v, std::int64_t& out);

}  // namespace common
