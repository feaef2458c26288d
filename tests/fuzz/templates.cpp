// The confirmation email's templates (notify/templates.cpp, kainjow mustache) rendered with a fuzzed
// context: the built-in subject, HTML and text templates and the bytes parsed as the context object
// (common::parse_json), as the outbox worker renders them.
// Invariants: render() either returns or throws TemplateError; the subject is one line; in the HTML
// body no value of the context appears with a raw '<' (values are HTML-escaped).

#include "common/json.hpp"
#include "fuzz.hpp"
#include "notify/templates.hpp"

#include <string>

namespace {

// Every string in the context that holds a '<': none may reach the HTML body unescaped.
void collect_markup(const boost::json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (s.find('<') != std::string_view::npos && s.size() >= 3) out.emplace_back(s);
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) collect_markup(e, out);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.get_object()) collect_markup(e, out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto templates = notify::Templates::load("", "Fuzz <Shop>");
  boost::system::error_code ec;
  auto context = common::parse_json(fuzz::as_text(data, size), ec);
  if (ec || !context.is_object()) return 0;
  try {
    auto email = templates.render(context.get_object());
    FUZZ_CHECK(email.subject.find('\n') == std::string::npos && email.subject.find('\r') == std::string::npos);
    FUZZ_CHECK(email.html.find("Fuzz <Shop>") == std::string::npos);
    std::vector<std::string> markup;
    collect_markup(context, markup);
    auto html_template = notify::builtin_template(notify::Templates::kHtmlFile);
    for (const auto& s : markup) {
      FUZZ_CHECK(email.html.find(s) == std::string::npos || html_template.find(s) != std::string_view::npos);
    }
  } catch (const notify::TemplateError&) {
    // reported by the worker as a failed send, not a crash
  }
  return 0;
}
