#include "catalog/import.hpp"

#include "common/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <istream>
#include <memory>
#include <optional>
#include <sstream>

namespace catalog {
namespace {

constexpr std::size_t kMaxProblems = 50;  // a broken file need not list every one of a million rows
// A product is at most 200 + 10,000 characters: a longer record is a wrong file, and reading it whole
// would let its size decide the import's memory.
constexpr std::size_t kMaxRecordBytes = 1 << 20;

constexpr std::string_view kTooLong = "a product of more than 1 MiB; nothing after it was read";

// "line 7: <what>": how every problem says where it is.
std::string at_line(int line, std::string_view what) { return "line " + std::to_string(line) + ": " + std::string(what); }

// A row's problem, while fewer than kMaxProblems are listed.
void add_problem(std::vector<std::string>& problems, int line, std::string_view what) {
  if (problems.size() < kMaxProblems) problems.push_back(at_line(line, what));
}

struct CsvRecord {
  int line = 0;  // where the record begins
  std::vector<std::string> fields;
};

// RFC 4180: comma-separated fields, quoted with "…" (a quote inside doubled), records ended by LF or
// CRLF, quoted fields may span lines. One record at a time from a stream (CsvRecords), so a file of
// any length is read in the memory of its longest record.
class CsvRecords {
 public:
  explicit CsvRecords(std::istream& in) : in_(*in.rdbuf()) {}

  // The next non-empty record; false at the end, or with `error` set on an unterminated quote.
  bool next(CsvRecord& record, std::string& error) {
    for (;;) {
      record = CsvRecord{line_, {""}};
      bool started = false;
      auto ended = read_record(record, started, error);
      if (!error.empty()) return false;
      if (started || record.fields.size() > 1 || !record.fields[0].empty()) return true;
      if (!ended) return false;  // the end of the stream, after only empty lines
    }
  }

 private:
  // Reads up to the end of a record; false when the stream ended instead.
  bool read_record(CsvRecord& record, bool& started, std::string& error) {
    bool quoted = false;
    std::size_t bytes = 0;
    for (int next = in_.sbumpc(); next != EOF; next = in_.sbumpc()) {
      if (++bytes > kMaxRecordBytes) {
        error = at_line(record.line, kTooLong);
        return false;
      }
      char c = static_cast<char>(next);
      if (quoted) {
        if (c == '"' && in_.sgetc() == '"') {
          record.fields.back() += '"';
          in_.sbumpc();
        } else if (c == '"') {
          quoted = false;
        } else {
          if (c == '\n') ++line_;
          record.fields.back() += c;
        }
      } else if (c == '"' && record.fields.back().empty()) {
        quoted = started = true;
      } else if (c == ',') {
        record.fields.emplace_back();
        started = true;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && in_.sgetc() == '\n') in_.sbumpc();
        ++line_;
        return true;
      } else {
        record.fields.back() += c;
        started = true;
      }
    }
    if (quoted) error = at_line(record.line, "a quoted field is never closed");
    return false;
  }

  std::streambuf& in_;
  int line_ = 1;
};

// A CSV cell as the JSON value the API would receive: stock as an integer when it is one.
boost::json::object csv_row_as_json(const std::vector<std::string>& header, const std::vector<std::string>& fields) {
  boost::json::object row;
  for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    const auto& cell = fields[i];
    if (header[i] == "stock") {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), n);
      if (ec == std::errc{} && end == cell.data() + cell.size()) row[header[i]] = n;
      else row[header[i]] = cell;
    } else {
      row[header[i]] = cell;
    }
  }
  return row;
}

// The row as a product, or nullopt with its problems added (at most kMaxProblems in all).
std::optional<ProductChange> checked_row(const boost::json::object& row, int line, const common::Currency& currency,
                                         std::vector<std::string>& problems) {
  common::FieldErrors errors;
  auto change = product_change_from_json(row, false, currency, errors);
  try {
    errors.raise_if_any();
    return change;
  } catch (const common::Error& e) {
    for (const auto& [field, messages] : e.details()) {
      for (const auto& m : messages.as_array()) add_problem(problems, line, std::string(field) + ": " + std::string(m.as_string()));
    }
    return std::nullopt;
  }
}

const std::vector<std::string> kCsvHeader{"name", "description", "price", "stock"};

// The header record, lower-cased and without a UTF-8 byte-order mark; a problem when it is not
// name,description,price,stock.
bool check_header(CsvRecords& records, std::vector<std::string>& problems) {
  CsvRecord header;
  std::string error;
  if (!records.next(header, error)) {
    problems.push_back(error.empty() ? at_line(1, "the file is empty; expected the header name,description,price,stock")
                                     : error);
    return false;
  }
  for (auto& h : header.fields) {
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!h.empty() && h.front() == '\xEF') h.erase(0, 3);  // a UTF-8 byte-order mark
  }
  if (header.fields != kCsvHeader) {
    problems.push_back(at_line(1, "expected the header name,description,price,stock"));
    return false;
  }
  return true;
}

// The elements of a top-level JSON array, one at a time from a stream, each as its own text with the
// line it begins on, so a file of any length is read in the memory of its largest element. Only the
// array's punctuation is read here (strings and nesting are followed to find where an element ends);
// common::parse_json then parses each element and finds any other mistake.
class JsonElements {
 public:
  explicit JsonElements(std::istream& in) : in_(*in.rdbuf()) {}

  // The next element; false at the end of the array, or with `error` set.
  bool next(std::string& text, int& line, std::string& error) {
    if (ended_) return false;
    if (!started_) {
      started_ = true;
      if (!open_array(error)) return false;
      if (in_.sgetc() == ']') return close_array(error);
    } else {
      int c = in_.sgetc();
      if (c == ']') return close_array(error);
      if (c != ',') return fail(error, c == EOF ? "the file ends inside the array" : "expected , or ] after a product");
      in_.sbumpc();
      skip_space();
    }
    line = line_;
    text.clear();
    if (!read_element(text, error)) return false;
    if (text.empty()) return fail(error, "expected a product");
    return true;
  }

 private:
  bool open_array(std::string& error) {
    if (in_.sgetc() == 0xEF) {  // a UTF-8 byte-order mark
      in_.sbumpc();
      if (in_.sbumpc() != 0xBB || in_.sbumpc() != 0xBF) return fail(error, "expected a JSON array of products");
    }
    skip_space();
    if (in_.sbumpc() != '[') return fail(error, "expected a JSON array of products");
    skip_space();
    return true;
  }

  // At the array's `]`: nothing but white space may follow it.
  bool close_array(std::string& error) {
    in_.sbumpc();
    skip_space();
    if (in_.sgetc() != EOF) return fail(error, "unexpected text after the array");
    ended_ = true;
    return false;
  }

  // Up to the `,` or `]` that ends the element, which is left unread.
  bool read_element(std::string& text, std::string& error) {
    const int first_line = line_;
    int depth = 0;
    bool quoted = false;
    bool escaped = false;
    for (int next = in_.sgetc(); next != EOF; next = in_.sgetc()) {
      char c = static_cast<char>(next);
      if (!quoted && depth == 0 && (c == ',' || c == ']')) return true;
      if (text.size() == kMaxRecordBytes) return fail(error, kTooLong, first_line);
      in_.sbumpc();
      text += c;
      if (c == '\n') ++line_;
      if (quoted) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && depth > 0) {
        --depth;
      }
    }
    return fail(error, "the file ends inside the array");
  }

  void skip_space() {
    for (int c = in_.sgetc(); c == ' ' || c == '\t' || c == '\r' || c == '\n'; c = in_.sgetc()) {
      if (c == '\n') ++line_;
      in_.sbumpc();
    }
  }

  // Ends the reading with a problem: at `line`, or where the reading is.
  bool fail(std::string& error, std::string_view what, int line = 0) {
    error = at_line(line != 0 ? line : line_, what);
    ended_ = true;
    return false;
  }

  std::streambuf& in_;
  int line_ = 1;
  bool started_ = false;
  bool ended_ = false;
};

class CsvProducts final : public ProductReader {
 public:
  CsvProducts(std::istream& in, const common::Currency& currency) : records_(in), currency_(currency) {}

  bool next(ProductChange& product, std::vector<std::string>& problems) override {
    if (!header_read_) {
      header_read_ = true;
      ok_ = check_header(records_, problems);
    }
    CsvRecord record;
    std::string error;
    while (ok_ && records_.next(record, error)) {
      ++rows_;
      if (record.fields.size() != kCsvHeader.size()) {
        add_problem(problems, record.line, "expected 4 fields, found " + std::to_string(record.fields.size()));
        continue;
      }
      if (auto change = checked_row(csv_row_as_json(kCsvHeader, record.fields), record.line, currency_, problems)) {
        product = std::move(*change);
        return true;
      }
    }
    if (!error.empty()) problems.push_back(error);
    ok_ = false;
    return false;
  }

 private:
  CsvRecords records_;
  const common::Currency& currency_;
  bool header_read_ = false;
  bool ok_ = true;
};

class JsonProducts final : public ProductReader {
 public:
  JsonProducts(std::istream& in, const common::Currency& currency) : elements_(in), currency_(currency) {}

  bool next(ProductChange& product, std::vector<std::string>& problems) override {
    std::string text;
    std::string error;
    int line = 0;
    while (elements_.next(text, line, error)) {
      ++rows_;
      boost::system::error_code ec;
      auto value = common::parse_json(text, ec);
      std::string problem = ec                  ? "not valid JSON: " + ec.message()
                            : !value.is_object() ? "expected an object"
                                                 : "";
      if (!problem.empty()) {
        add_problem(problems, line, problem);
        continue;
      }
      if (auto change = checked_row(value.get_object(), line, currency_, problems)) {
        product = std::move(*change);
        return true;
      }
    }
    if (!error.empty()) problems.push_back(error);
    return false;
  }

 private:
  JsonElements elements_;
  const common::Currency& currency_;
};

}  // namespace

std::unique_ptr<ProductReader> read_products(std::istream& in, FileFormat format, const common::Currency& currency) {
  if (format == FileFormat::json) return std::make_unique<JsonProducts>(in, currency);
  return std::make_unique<CsvProducts>(in, currency);
}

FileFormat format_of(std::string_view path) {
  auto dot = path.rfind('.');
  std::string ext(dot == std::string_view::npos ? "" : path.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "json") return FileFormat::json;
  if (ext == "csv") return FileFormat::csv;
  throw common::Error("validation_error", "product files must end in .json or .csv");
}

std::vector<ProductChange> demo_products(const common::Currency& currency) {
  auto product = [&currency](const char* name, const char* description, std::int64_t cents, std::int64_t stock) {
    auto minor = currency.decimals == 0 ? cents * 100 : cents;
    return ProductChange{name, description, common::Money::from_minor(minor), stock};
  };
  return {
      product("Product A", "The old service's favourite example.", 5000, 100),
      product("Product B", "Its companion, for two-item orders.", 3000, 100),
      product("Espresso beans 1 kg", "Dark roast, whole beans.", 2450, 40),
      product("Ceramic mug", "350 ml, dishwasher safe.", 1200, 75),
      product("Pour-over kettle", "Gooseneck spout, 1 litre.", 5990, 15),
      product("Paper filters (100)", "Unbleached, size 02.", 650, 200),
      product("Hand grinder", "Conical steel burrs.", 8900, 10),
      product("Milk frother", "Battery powered.", 1999, 30),
  };
}

}  // namespace catalog
