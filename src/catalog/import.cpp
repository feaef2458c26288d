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
    for (int next = in_.sbumpc(); next != EOF; next = in_.sbumpc()) {
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
    if (quoted) error = "line " + std::to_string(record.line) + ": a quoted field is never closed";
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
std::optional<ProductChange> checked_row(const boost::json::object& row, int line, std::vector<std::string>& problems) {
  common::FieldErrors errors;
  auto change = product_change_from_json(row, false, errors);
  try {
    errors.raise_if_any();
    return change;
  } catch (const common::Error& e) {
    for (const auto& [field, messages] : e.details()) {
      for (const auto& m : messages.as_array()) {
        if (problems.size() < kMaxProblems) {
          problems.push_back("line " + std::to_string(line) + ": " + std::string(field) + ": " +
                             std::string(m.as_string()));
        }
      }
    }
    return std::nullopt;
  }
}

void check_row(const boost::json::object& row, int line, ParsedFile& out) {
  if (auto change = checked_row(row, line, out.problems)) out.products.push_back(std::move(*change));
}

const std::vector<std::string> kCsvHeader{"name", "description", "price", "stock"};

// The header record, lower-cased and without a UTF-8 byte-order mark; a problem when it is not
// name,description,price,stock.
bool check_header(CsvRecords& records, std::vector<std::string>& problems) {
  CsvRecord header;
  std::string error;
  if (!records.next(header, error)) {
    problems.push_back(error.empty() ? "line 1: the file is empty; expected the header name,description,price,stock"
                                     : error);
    return false;
  }
  for (auto& h : header.fields) {
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!h.empty() && h.front() == '\xEF') h.erase(0, 3);  // a UTF-8 byte-order mark
  }
  if (header.fields != kCsvHeader) {
    problems.push_back("line 1: expected the header name,description,price,stock");
    return false;
  }
  return true;
}

void parse_csv_file(std::string_view text, ParsedFile& out) {
  std::istringstream in{std::string(text)};
  ProductCsvReader reader(in);
  ProductChange change;
  while (reader.next(change, out.problems)) out.products.push_back(std::move(change));
}

void parse_json_file(std::string_view text, ParsedFile& out) {
  boost::system::error_code ec;
  std::vector<int> lines;
  auto value = common::parse_json_lines(text, ec, lines);
  if (ec) {
    out.problems.push_back("the file is not valid JSON: " + ec.message());
    return;
  }
  if (!value.is_array()) {
    out.problems.push_back("line 1: expected a JSON array of products");
    return;
  }
  const auto& array = value.get_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    int line = i < lines.size() ? lines[i] : 0;
    if (!array[i].is_object()) {
      if (out.problems.size() < kMaxProblems) out.problems.push_back("line " + std::to_string(line) + ": expected an object");
      continue;
    }
    check_row(array[i].get_object(), line, out);
  }
}

}  // namespace

struct ProductCsvReader::Impl {
  explicit Impl(std::istream& in) : records(in) {}
  CsvRecords records;
  bool header_read = false;
  bool ok = true;
};

ProductCsvReader::ProductCsvReader(std::istream& in) : impl_(std::make_unique<Impl>(in)) {}
ProductCsvReader::~ProductCsvReader() = default;

bool ProductCsvReader::next(ProductChange& product, std::vector<std::string>& problems) {
  auto& r = *impl_;
  if (!r.header_read) {
    r.header_read = true;
    r.ok = check_header(r.records, problems);
  }
  CsvRecord record;
  std::string error;
  while (r.ok && r.records.next(record, error)) {
    ++rows_;
    if (record.fields.size() != kCsvHeader.size()) {
      if (problems.size() < kMaxProblems) {
        problems.push_back("line " + std::to_string(record.line) + ": expected 4 fields, found " +
                           std::to_string(record.fields.size()));
      }
      continue;
    }
    if (auto change = checked_row(csv_row_as_json(kCsvHeader, record.fields), record.line, problems)) {
      product = std::move(*change);
      return true;
    }
  }
  if (!error.empty()) problems.push_back(error);
  r.ok = false;
  return false;
}

FileFormat format_of(std::string_view path) {
  auto dot = path.rfind('.');
  std::string ext(dot == std::string_view::npos ? "" : path.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "json") return FileFormat::json;
  if (ext == "csv") return FileFormat::csv;
  throw common::Error("validation_error", "product files must end in .json or .csv");
}

ParsedFile parse_product_file(std::string_view text, FileFormat format) {
  ParsedFile out;
  if (format == FileFormat::json) parse_json_file(text, out);
  else parse_csv_file(text, out);
  return out;
}

std::vector<ProductChange> demo_products() {
  auto product = [](const char* name, const char* description, std::int64_t cents, std::int64_t stock) {
    return ProductChange{name, description, common::Money::from_minor(cents), stock};
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
