#include "catalog/import.hpp"

#include "common/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace catalog {
namespace {

constexpr std::size_t kMaxProblems = 50;  // a broken file need not list every one of a million rows

struct CsvRecord {
  int line = 0;  // where the record begins
  std::vector<std::string> fields;
};

// RFC 4180: comma-separated fields, quoted with "…" (a quote inside doubled), records ended by LF or
// CRLF, quoted fields may span lines. Returns false with `error` on an unterminated quote.
bool parse_csv(std::string_view text, std::vector<CsvRecord>& records, std::string& error) {
  int line = 1;
  CsvRecord record{line, {""}};
  bool quoted = false;
  bool field_started = false;
  auto end_record = [&] {
    if (!(record.fields.size() == 1 && record.fields[0].empty() && !field_started)) records.push_back(record);
    record = CsvRecord{line, {""}};
    field_started = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        record.fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        record.fields.back() += c;
      }
    } else if (c == '"' && record.fields.back().empty()) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.fields.emplace_back();
      field_started = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      record.fields.back() += c;
      field_started = true;
    }
  }
  if (quoted) {
    error = "line " + std::to_string(record.line) + ": a quoted field is never closed";
    return false;
  }
  end_record();
  return true;
}

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

void check_row(const boost::json::object& row, int line, ParsedFile& out) {
  common::FieldErrors errors;
  auto change = product_change_from_json(row, false, errors);
  try {
    errors.raise_if_any();
    out.products.push_back(std::move(change));
  } catch (const common::Error& e) {
    for (const auto& [field, messages] : e.details()) {
      for (const auto& m : messages.as_array()) {
        if (out.problems.size() < kMaxProblems) {
          out.problems.push_back("line " + std::to_string(line) + ": " + std::string(field) + ": " +
                                 std::string(m.as_string()));
        }
      }
    }
  }
}

void parse_csv_file(std::string_view text, ParsedFile& out) {
  std::vector<CsvRecord> records;
  std::string error;
  if (!parse_csv(text, records, error)) {
    out.problems.push_back(error);
    return;
  }
  const std::vector<std::string> expected{"name", "description", "price", "stock"};
  if (records.empty()) {
    out.problems.push_back("line 1: the file is empty; expected the header name,description,price,stock");
    return;
  }
  auto header = records.front().fields;
  for (auto& h : header) {
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!h.empty() && h.front() == '\xEF') h.erase(0, 3);  // a UTF-8 byte-order mark
  }
  if (header != expected) {
    out.problems.push_back("line 1: expected the header name,description,price,stock");
    return;
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() != expected.size()) {
      if (out.problems.size() < kMaxProblems) {
        out.problems.push_back("line " + std::to_string(rec.line) + ": expected 4 fields, found " +
                               std::to_string(rec.fields.size()));
      }
      continue;
    }
    check_row(csv_row_as_json(header, rec.fields), rec.line, out);
  }
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
