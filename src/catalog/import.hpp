#pragma once
// Reading a product file for `orderd product import`: a JSON array of product objects, or CSV with the
// header name,description,price,stock. Every row is checked with the API's own rules; problems are
// reported with the line they start on, and a file with any problem imports nothing. A CSV file is
// read a record at a time (ProductCsvReader), so its size does not decide the import's memory; a
// JSON file is parsed whole.

#include "catalog/service.hpp"

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace catalog {

struct ParsedFile {
  std::vector<ProductChange> products;
  std::vector<std::string> problems;  // "line 7: price: Ensure that there are no more than 2 decimal places."
};

enum class FileFormat { json, csv };
// By extension: .json or .csv (any case); throws common::Error otherwise.
FileFormat format_of(std::string_view path);

ParsedFile parse_product_file(std::string_view text, FileFormat format);

// The products of a CSV stream one at a time: the header is checked first, then each row. A row with
// problems is skipped with them added to `problems` (at most 50 in all); next() goes on to the next
// good row, so one pass over a file finds its problems and another imports it.
class ProductCsvReader {
 public:
  explicit ProductCsvReader(std::istream& in);
  ~ProductCsvReader();
  ProductCsvReader(const ProductCsvReader&) = delete;
  ProductCsvReader& operator=(const ProductCsvReader&) = delete;
  // The next good row's product; false at the end (or after a broken header or quote).
  bool next(ProductChange& product, std::vector<std::string>& problems);
  std::size_t rows() const { return rows_; }  // data records read so far, good or not

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t rows_ = 0;
};

// The products `orderd demo-data` loads (and `make run` through it).
std::vector<ProductChange> demo_products();

}  // namespace catalog
