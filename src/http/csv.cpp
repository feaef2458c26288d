#include "http/csv.hpp"

#include <memory>

namespace http::csv {
namespace {

bool needs_quotes(std::string_view field) { return field.find_first_of(",\"\r\n") != std::string_view::npos; }

void append_field(std::string& out, std::string_view field) {
  if (!needs_quotes(field)) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

bool starts_a_formula(std::string_view value) {
  auto first = value.find_first_not_of("\t\r");
  if (first == std::string_view::npos) return false;
  char c = value[first];
  return c == '=' || c == '+' || c == '-' || c == '@' || first > 0;
}

}  // namespace

void append_record(std::string& out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (auto field : fields) {
    if (!first) out += ',';
    first = false;
    append_field(out, field);
  }
  out += "\r\n";
}

std::string text(std::string_view value) {
  if (!starts_a_formula(value)) return std::string(value);
  return "'" + std::string(value);
}

Response stream(std::string filename, std::string header, Pages pages) {
  struct State {
    std::string header;
    Pages pages;
    bool done = false;
  };
  auto state = std::make_shared<State>(State{std::move(header), std::move(pages)});
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.pieces = [state]() {
    std::string piece = std::move(state->header);
    state->header.clear();
    // A page that adds nothing (all of it filtered away) does not end the body: only `done` does.
    while (!state->done && piece.empty()) state->done = !state->pages(piece);
    if (!state->done && piece.size() < 4096) state->done = !state->pages(piece);
    return piece;
  };
  return r;
}

}  // namespace http::csv
