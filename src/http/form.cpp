#include "http/form.hpp"

#include "common/error.hpp"
#include "common/text.hpp"

#include <boost/json/array.hpp>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace http {

namespace {

// Django refused more fields than this (DATA_UPLOAD_MAX_NUMBER_FIELDS) with 400; no old route has
// more than six.
constexpr std::size_t kMaxFields = 1000;
constexpr std::string_view kUrlEncoded = "application/x-www-form-urlencoded";
constexpr std::string_view kMultipart = "multipart/form-data";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void not_a_form(const std::string& why) {
  throw common::Error("bad_request", "The request body is not a valid form: " + why);
}

// A header value's `; key=value` parameters (RFC 9110 5.6.6; a value may be a quoted string), in
// order, after its first part. Names are compared without case.
std::optional<std::string> parameter(std::string_view header, std::string_view name) {
  auto at = header.find(';');
  while (at != std::string_view::npos) {
    header.remove_prefix(at + 1);
    auto eq = header.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = trim(header.substr(0, eq));
    header.remove_prefix(eq + 1);
    header = trim(header);
    std::string value;
    if (!header.empty() && header.front() == '"') {
      std::size_t i = 1;
      for (; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      header.remove_prefix(std::min(i + 1, header.size()));
      at = header.find(';');
    } else {
      at = header.find(';');
      value = std::string(trim(header.substr(0, at)));
    }
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// WHATWG URL's application/x-www-form-urlencoded byte decoding: '+' is a space, "%XX" a byte, and a
// '%' not followed by two hex digits stays as it is.
std::string form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Keeps one field, refusing what no text field of the API takes: bytes that are not UTF-8, and NUL.
void add_field(boost::json::object& fields, std::string name, std::string value) {
  if (common::valid_utf8(name, name.size()) != name) not_a_form("a field's name is not UTF-8 text");
  if (common::valid_utf8(value, value.size()) != value) {
    throw common::Error("validation_error", "Form field '" + name + "' is not valid UTF-8 text",
                        {{name, boost::json::array{"Enter valid UTF-8 text without NUL characters."}}});
  }
  if (!fields.contains(name) && fields.size() >= kMaxFields) {
    not_a_form("more than " + std::to_string(kMaxFields) + " fields");
  }
  fields[name] = value;
}

boost::json::object parse_urlencoded(std::string_view body) {
  boost::json::object fields;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body.remove_prefix(amp == std::string_view::npos ? body.size() : amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    add_field(fields, form_decode(pair.substr(0, eq)), form_decode(value));
  }
  return fields;
}

// One part of a multipart body: its headers' Content-Disposition and its content.
struct Part {
  std::string_view disposition;
  std::string_view content;
};

// The parts of a multipart body (RFC 2046 5.1.1, RFC 7578): a preamble, then each part after a
// "--boundary" line, headers, an empty line and its content, up to the closing "--boundary--".
std::vector<Part> split_parts(std::string_view body, std::string_view boundary) {
  const std::string dash_boundary = "--" + std::string(boundary);
  const std::string delimiter = "\r\n" + dash_boundary;
  // The first boundary line opens the body or follows the preamble's last CRLF.
  std::size_t at = 0;
  if (body.starts_with(dash_boundary)) {
    at = dash_boundary.size();
  } else if (at = body.find(delimiter); at != std::string_view::npos) {
    at += delimiter.size();
  } else {
    not_a_form("its boundary never appears");
  }
  std::vector<Part> parts;
  while (body.substr(at, 2) != "--") {
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;  // transport padding
    if (body.substr(at, 2) != "\r\n") not_a_form("a boundary line does not end with CRLF");
    at += 2;
    // From the boundary line's own CRLF, so that a part without headers is found too.
    auto blank = body.find("\r\n\r\n", at - 2);
    if (blank == std::string_view::npos) not_a_form("a part's headers never end");
    auto headers = blank < at ? std::string_view{} : body.substr(at, blank - at);
    auto end = body.find(delimiter, blank + 4);
    if (end == std::string_view::npos) not_a_form("it ends before its closing boundary");
    Part part{.disposition = {}, .content = body.substr(blank + 4, end - blank - 4)};
    while (!headers.empty()) {
      auto eol = headers.find("\r\n");
      auto line = headers.substr(0, eol);
      headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + 2);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), "Content-Disposition")) {
        part.disposition = line.substr(colon + 1);
      }
    }
    if (parts.size() == kMaxFields) not_a_form("more than " + std::to_string(kMaxFields) + " fields");
    parts.push_back(part);
    at = end + delimiter.size();
  }
  return parts;
}

boost::json::object parse_multipart(std::string_view content_type, std::string_view body) {
  auto boundary = parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) not_a_form("multipart/form-data without a boundary");
  boost::json::object fields;
  for (const auto& part : split_parts(body, *boundary)) {
    auto name = parameter(part.disposition, "name");
    if (!name) continue;  // not a field (Django skipped it too)
    auto filename = parameter(part.disposition, "filename");
    if (filename && filename->empty()) continue;  // a browser's file input left empty
    if (filename) {
      throw common::Error("validation_error", "Form field '" + common::valid_utf8(*name, name->size()) + "' is a file",
                          {{common::valid_utf8(*name, name->size()),
                            boost::json::array{"Files are not accepted here: send the value as text."}}});
    }
    add_field(fields, std::move(*name), std::string(part.content));
  }
  return fields;
}

std::string_view base_type(std::string_view content_type) { return trim(content_type.substr(0, content_type.find(';'))); }

}  // namespace

bool is_form_content_type(std::string_view content_type) {
  auto base = base_type(content_type);
  return iequals(base, kUrlEncoded) || iequals(base, kMultipart);
}

boost::json::object parse_form(std::string_view content_type, std::string_view body) {
  if (iequals(base_type(content_type), kUrlEncoded)) return parse_urlencoded(body);
  return parse_multipart(content_type, body);
}

}  // namespace http
