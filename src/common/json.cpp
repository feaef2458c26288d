#include "common/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <limits>
#include <string>

namespace common {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// Boost.JSON's own DOM-building handler, except for the treatment of non-integer numbers.
struct ExactHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::string number;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    return true;
  }
  bool on_object_end(std::size_t n, error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) {
    return true;
  }
  bool on_array_end(std::size_t n, error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, error_code&) {
    number.append(s.data(), s.size());
    st.push_string(number);
    number.clear();
    return true;
  }
  bool on_bool(bool b, error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

json::value parse_json(std::string_view text, error_code& ec) {
  json::basic_parser<ExactHandler> parser(json::parse_options{});
  auto& handler = parser.handler();
  handler.st.reset();
  auto n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return nullptr;
  return handler.st.release();
}

IntegerRead read_integer(const json::value& v, std::int64_t& out) {
  if (v.is_int64()) {
    out = v.get_int64();
    return IntegerRead::integer;
  }
  if (v.is_uint64()) return IntegerRead::too_large;
  if (!v.is_string()) return IntegerRead::not_integer;
  std::string_view text = v.get_string();
  constexpr std::string_view kBlank = " \t\n\r";
  auto first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos || text.size() > 1000) return IntegerRead::not_integer;
  text = text.substr(first, text.find_last_not_of(kBlank) + 1 - first);
  if (auto dot = text.find('.'); dot != std::string_view::npos) {  // "2.0", "2.": DRF drops a zero fraction
    if (text.find_first_not_of('0', dot + 1) != std::string_view::npos) return IntegerRead::not_integer;
    text = text.substr(0, dot);
  }
  bool negative = text.starts_with('-');
  if (negative || text.starts_with('+')) text.remove_prefix(1);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return IntegerRead::not_integer;
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude);
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (ec != std::errc{} || magnitude > kMax + (negative ? 1 : 0)) return IntegerRead::too_large;
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return IntegerRead::integer;
}

}  // namespace common
