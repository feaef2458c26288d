// HTML form bodies (http/form.hpp): the input's first line is the Content-Type, the rest the body.
// Invariants: a form is either read or refused with 400 bad_request or validation_error, nothing
// else; a read form holds at most 1000 fields, every name and value UTF-8 text without NUL; an
// urlencoded form written back with every byte escaped reads back equal.

#include "common/error.hpp"
#include "common/text.hpp"
#include "fuzz.hpp"
#include "http/form.hpp"

#include <string>

namespace {

bool clean_text(std::string_view s) { return common::valid_utf8(s, s.size()) == s; }

std::string escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);
  auto eol = text.find('\n');
  auto content_type = text.substr(0, eol);
  auto body = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  if (!http::is_form_content_type(content_type)) return 0;

  boost::json::object fields;
  try {
    fields = http::parse_form(content_type, body);
  } catch (const common::Error& e) {
    FUZZ_CHECK(e.code() == "bad_request" || e.code() == "validation_error");
    return 0;
  }
  FUZZ_CHECK(fields.size() <= 1000);
  std::string again;
  for (const auto& [name, value] : fields) {
    FUZZ_CHECK(value.is_string());
    FUZZ_CHECK(clean_text(name) && clean_text(value.get_string()));
    if (!again.empty()) again += '&';
    again += escaped(name) + '=' + escaped(value.get_string());
  }
  if (content_type.starts_with("application/")) {
    FUZZ_CHECK(http::parse_form("application/x-www-form-urlencoded", again) == fields);
  }
  return 0;
}
