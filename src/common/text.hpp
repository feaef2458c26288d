#pragma once
// Text as the API counts and keeps it: UTF-8, characters rather than bytes, no U+0000.

#include <cstddef>
#include <string>
#include <string_view>

namespace common {

// Characters, not bytes: a UTF-8 continuation byte does not start one (a reason in Greek may be as
// long as one in English).
std::size_t characters(std::string_view utf8);

// A text field holding U+0000 is refused with this, as DRF's CharField refuses it: the character ends
// strings in C, mail headers and CSV readers, and no name, reason or password needs it.
inline constexpr const char* kNullCharacters = "Null characters are not allowed.";
inline bool has_null(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Bytes from elsewhere (a webhook receiver's answer) as valid UTF-8 of at most `max_bytes`: each byte
// that does not belong to a well-formed character, and U+0000, becomes U+FFFD, and the text ends
// before a character that would not fit. PostgreSQL refuses invalid UTF-8 in a text column, and JSON
// must not carry it.
std::string valid_utf8(std::string_view bytes, std::size_t max_bytes);

// The two halves of an email address as mail servers take it, ASCII only. A dot-atom (RFC 5322
// 3.2.3): letters, digits and !#$%&'*+-/=?^_`{|}~ in runs joined by single dots. A host name (RFC
// 5321 4.1.2): labels of 1-63 letters, digits and hyphens, no hyphen at either end, joined by dots,
// at most 255 characters.
bool is_dot_atom(std::string_view text);
bool is_host_name(std::string_view text);

}  // namespace common
