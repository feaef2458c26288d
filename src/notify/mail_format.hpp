#pragma once
// The pieces of an Internet message both mailers share: header lines (RFC 5322 dates, RFC 2047
// encoded words for non-ASCII text) and, for the file mailer, the whole message. No encoding is
// written here by hand: base64 comes from libsodium.

#include "notify/mailer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace notify::mail_format {

// "Sat, 04 May 2024 12:00:00 +0000"
std::string rfc5322_date(std::int64_t micros);

// Short ASCII text unchanged, longer ASCII text folded at its spaces (CRLF before a space, lines of
// about 68 characters); otherwise, or when a word is too long to fold, RFC 2047 encoded words
// (=?UTF-8?B?...?=), each at most 75 characters, one to a folded line, never splitting a UTF-8
// sequence. So no header line passes 998 octets however long the text.
std::string encode_header_text(std::string_view text);

// A text part's lines ended with CRLF, as MIME asks before a text is base64-encoded (RFC 2045 6.8):
// each LF not already after a CR gets one.
std::string crlf_lines(std::string_view text);

// "Name <addr>" -> "addr"; a bare address is returned as is.
std::string address_of(std::string_view mailbox);
// The part after '@' of the mailbox's address ("localhost" when there is none).
std::string domain_of(std::string_view mailbox);
// The mailbox as a header writes it: a non-ASCII display name encoded ("=?UTF-8?B?...?= <addr>"),
// an ASCII one with RFC 5322 specials (a comma, a dot) quoted ("\"Shop, Inc.\" <addr>").
std::string encode_mailbox(std::string_view mailbox);

// Why `mailbox` ("addr" or "Display Name <addr>") is not one a mail server takes as a sender, or
// nothing: one line, an ASCII dot-atom address at a host name. The display name may be any text.
std::optional<std::string> mailbox_problem(std::string_view mailbox);

// From, To, Subject, Date, Message-ID, MIME-Version: the top-level headers of both mailers.
// Throws std::invalid_argument when a field holds a line break (header injection) or no address.
std::vector<std::string> header_lines(const Email& email, std::int64_t now_micros);

// Base64 in lines of 76 characters, each ending in CRLF (RFC 2045).
std::string base64_lines(std::string_view data);

// The complete message as the file mailer writes it: header_lines, then a multipart/alternative
// body with `boundary`, text/plain then text/html, both UTF-8 and base64.
std::string file_message(const Email& email, std::int64_t now_micros, std::string_view boundary);

}  // namespace notify::mail_format
