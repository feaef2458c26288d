#include "common/text.hpp"

#include <algorithm>
#include <cctype>

namespace common {
namespace {

// The length of the well-formed UTF-8 character at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when it does not start with one.
std::size_t character_length(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 0;
  if (n == 0 || s.size() < n) return 0;
  // The second byte's range depends on the first; the others are any continuation byte.
  unsigned char low = b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;
  unsigned char high = b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::size_t characters(std::string_view utf8) {
  return static_cast<std::size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string valid_utf8(std::string_view bytes, std::size_t max_bytes) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  while (!bytes.empty()) {
    auto n = character_length(bytes);
    auto piece = n == 0 || bytes[0] == '\0' ? kReplacement : bytes.substr(0, n);
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    bytes.remove_prefix(n == 0 ? 1 : n);
  }
  return out;
}

bool is_dot_atom(std::string_view text) {
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~.";
  if (text.empty() || text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kSpecials.find(c) != std::string_view::npos;
  });
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  while (true) {
    auto dot = text.find('.');
    auto label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

}  // namespace common
