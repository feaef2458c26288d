#pragma once
// CSV for the exports (issue #22): RFC 4180 records in UTF-8 (fields separated by commas, quoted
// when they hold a comma, a double quote, CR or LF, quotes inside doubled, each record ending with
// CRLF), and a streamed response made of pages of records (http::BodyPieces), so an export of any
// size holds one page in memory.

#include "http/message.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace http::csv {

// Appends one record of `fields`, each quoted when RFC 4180 requires it.
void append_record(std::string& out, std::initializer_list<std::string_view> fields);

// A text field that came from people (a product's name, a username, an email address). A spreadsheet
// runs a cell that starts with = + - @ (or a tab or CR before one) as a formula: such a text gets a
// leading ' so it opens as the text it is (OWASP's "CSV injection"). Figures are written as they are.
std::string text(std::string_view value);

// The next page of records appended to `out`; false once there is nothing after it.
using Pages = std::function<bool(std::string& out)>;

// A 200 text/csv response, offered for download as `filename`, whose body is `header` (a record)
// followed by the pages, streamed: each page is read when the previous one has been written.
Response stream(std::string filename, std::string header, Pages pages);

}  // namespace http::csv
