#include "notify/mail_format.hpp"

#include "common/text.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace notify::mail_format {
namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string base64(std::string_view data) {
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

void require_one_line(std::string_view field, std::string_view value) {
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    throw std::invalid_argument(std::string(field) + " must not contain a line break");
  }
}

std::string trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  auto end = s.find_last_not_of(" \t");
  return std::string(s.substr(begin, end - begin + 1));
}

}  // namespace

std::string rfc5322_date(std::int64_t micros) {
  using namespace std::chrono;
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  sys_time<microseconds> t{microseconds{micros}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  weekday wd{day};
  hh_mm_ss hms{floor<seconds>(t - day)};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[wd.c_encoding()],
                     static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                     static_cast<int>(ymd.year()), hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

namespace {

// RFC 5322 2.2.3: a long header is folded by putting CRLF before whitespace. A line should stay
// within 78 characters and must within 998; a name such as "Subject: " comes before the first.
constexpr std::size_t kFoldAt = 68;
constexpr std::string_view kFold = "\r\n ";

// ASCII text folded at its spaces; empty when a word is too long for any line (a caller then encodes).
std::string fold_ascii(std::string_view text) {
  std::string out;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto space = text.find(' ', pos + 1);
    auto word = text.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    if (word.size() > 900) return {};
    if (line > 0 && line + word.size() > kFoldAt && word.starts_with(' ')) {
      out += "\r\n";
      line = 0;
    }
    out += word;
    line += word.size();
    if (space == std::string_view::npos) break;
    pos = space;
  }
  return out;
}

}  // namespace

std::string encode_header_text(std::string_view text) {
  if (is_ascii(text)) {
    if (text.size() <= kFoldAt) return std::string(text);
    if (auto folded = fold_ascii(text); !folded.empty()) return folded;
  }
  // "=?UTF-8?B?" + base64 + "?=" is 12 + 4*ceil(n/3) characters; 42 bytes give 68, so that with
  // "Subject: " before it the first line is within 78 too (RFC 2047 allows 75).
  // Words are folded one to a line: the whitespace between two encoded words is not part of the text.
  constexpr std::size_t kChunk = 42;
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(pos + kChunk, text.size());
    // Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
    while (end < text.size() && end > pos + 1 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += kFold;
    out += "=?UTF-8?B?" + base64(text.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

std::string address_of(std::string_view mailbox) {
  auto open = mailbox.rfind('<');
  auto close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return trim(mailbox.substr(open + 1, close - open - 1));
  }
  return trim(mailbox);
}

std::string domain_of(std::string_view mailbox) {
  auto address = address_of(mailbox);
  auto at = address.rfind('@');
  if (at == std::string::npos || at + 1 == address.size()) return "localhost";
  return address.substr(at + 1);
}

namespace {

// RFC 5322's "specials": in a display name they must be inside a quoted string.
bool has_specials(std::string_view name) { return name.find_first_of("()<>[]:;@\\,.\"") != std::string_view::npos; }

}  // namespace

std::optional<std::string> mailbox_problem(std::string_view mailbox) {
  if (mailbox.find_first_of("\r\n") != std::string_view::npos) return "must be one line";
  auto open = mailbox.find('<');
  if (open != std::string_view::npos && (mailbox.back() != '>' || mailbox.find('<', open + 1) != std::string_view::npos)) {
    return "must be an address, or a name followed by <address>";
  }
  auto address = address_of(mailbox);
  auto at = address.rfind('@');
  if (at == std::string::npos) return "\"" + address + "\" has no @domain";
  if (!common::is_dot_atom(std::string_view(address).substr(0, at))) {
    return "\"" + address + "\": the part before @ must be ASCII letters, digits and !#$%&'*+-/=?^_`{|}~ joined by dots";
  }
  if (!common::is_host_name(std::string_view(address).substr(at + 1))) {
    return "\"" + address + "\": the domain must be ASCII letters, digits and hyphens joined by dots (an IDN in its xn-- form)";
  }
  if (address.size() > 254) return "the address is longer than 254 characters";
  return std::nullopt;
}

std::string encode_mailbox(std::string_view mailbox) {
  auto open = mailbox.rfind('<');
  if (open == std::string_view::npos) return trim(mailbox);
  auto name = trim(mailbox.substr(0, open));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') return trim(mailbox);  // quoted by its author
  if (name.empty()) return "<" + address_of(mailbox) + ">";
  if (!is_ascii(name)) return encode_header_text(name) + " <" + address_of(mailbox) + ">";
  if (!has_specials(name)) return name + " <" + address_of(mailbox) + ">";
  // "Shop, Inc. <a@b>" unquoted is two mailboxes to a mail server ("Shop" and "Inc. <a@b>").
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + address_of(mailbox) + ">";
}

std::vector<std::string> header_lines(const Email& email, std::int64_t now_micros) {
  require_one_line("From", email.from);
  require_one_line("To", email.to);
  require_one_line("Subject", email.subject);
  require_one_line("Message-ID", email.message_id);
  if (address_of(email.from).find('@') == std::string::npos) throw std::invalid_argument("From has no address");
  if (address_of(email.to).find('@') == std::string::npos) throw std::invalid_argument("To has no address");
  return {"From: " + encode_mailbox(email.from),
          "To: " + encode_mailbox(email.to),
          "Subject: " + encode_header_text(email.subject),
          "Date: " + rfc5322_date(now_micros),
          "Message-ID: " + email.message_id,
          "MIME-Version: 1.0"};
}

std::string base64_lines(std::string_view data) {
  auto encoded = base64(data);
  std::string out;
  for (std::size_t pos = 0; pos < encoded.size(); pos += 76) out += encoded.substr(pos, 76) + "\r\n";
  return out;
}

std::string file_message(const Email& email, std::int64_t now_micros, std::string_view boundary) {
  std::string out;
  for (const auto& line : header_lines(email, now_micros)) out += line + "\r\n";
  out += fmt::format("Content-Type: multipart/alternative; boundary=\"{}\"\r\n\r\n", boundary);
  auto part = [&](std::string_view type, std::string_view body) {
    out += fmt::format("--{}\r\nContent-Type: {}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                       boundary, type);
    out += base64_lines(crlf_lines(body));
  };
  part("text/plain", email.text);
  part("text/html", email.html);
  out += fmt::format("--{}--\r\n", boundary);
  return out;
}

}  // namespace notify::mail_format
