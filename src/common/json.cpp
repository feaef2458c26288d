#include "common/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>

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
  int depth = 0;
  bool in_string = false;            // parts of a string have begun
  int line = 1;                      // the line being fed, when fed line by line
  std::vector<int>* element_lines = nullptr;

  void element_begins() {
    if (element_lines && depth == 1) element_lines->push_back(line);
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    element_begins();
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t n, error_code&) {
    --depth;
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) {
    element_begins();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t n, error_code&) {
    --depth;
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
  // A string may arrive in several parts (long strings, escapes); it begins an element only once.
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    if (!in_string) element_begins();
    in_string = true;
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code&) {
    if (!in_string) element_begins();  // not already counted by a part
    in_string = false;
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, error_code&) {
    if (number.empty()) element_begins();
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, error_code&) {
    if (number.empty()) element_begins();
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
    if (number.empty()) element_begins();
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, error_code&) {
    if (number.empty()) element_begins();
    number.append(s.data(), s.size());
    st.push_string(number);
    number.clear();
    return true;
  }
  bool on_bool(bool b, error_code&) {
    element_begins();
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    element_begins();
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

json::value parse(std::string_view text, error_code& ec, std::vector<int>* element_lines) {
  json::basic_parser<ExactHandler> parser(json::parse_options{});
  auto& handler = parser.handler();
  handler.st.reset();
  handler.element_lines = element_lines;
  if (element_lines == nullptr) {
    auto n = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && n < text.size()) ec = json::error::extra_data;
  } else {
    // Fed a line at a time so the handler knows on which line each element begins.
    std::size_t pos = 0;
    while (!ec && pos < text.size()) {
      auto end = text.find('\n', pos);
      end = end == std::string_view::npos ? text.size() : end + 1;
      auto n = parser.write_some(true, text.data() + pos, end - pos, ec);
      if (!ec && n < end - pos) ec = json::error::extra_data;
      pos = end;
      ++handler.line;
    }
    if (!ec) parser.write_some(false, nullptr, 0, ec);
  }
  if (ec) return nullptr;
  return handler.st.release();
}

}  // namespace

json::value parse_json(std::string_view text, error_code& ec) { return parse(text, ec, nullptr); }

json::value parse_json_lines(std::string_view text, error_code& ec, std::vector<int>& element_lines) {
  element_lines.clear();
  return parse(text, ec, &element_lines);
}

}  // namespace common
