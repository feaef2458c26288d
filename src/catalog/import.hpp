#pragma once
// Reading a product file for `orderd product import`: a JSON array of product objects, or CSV with the
// header name,description,price,stock. Every row is checked with the API's own rules; problems are
// reported with the line they start on, and a file with any problem imports nothing. Either kind is
// read a row at a time (ProductReader: a CSV record, an element of the JSON array), so a file's size
// does not decide the import's memory.

#include "catalog/service.hpp"

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace catalog {

enum class FileFormat { json, csv };
// By extension: .json or .csv (any case); throws common::Error otherwise.
FileFormat format_of(std::string_view path);

// The products of a file one at a time, in the memory of one row whatever the file's length. A row
// with problems is skipped with them added to `problems` (at most 50 in all); next() goes on to the
// next good row, so one pass over a file finds its problems and another imports it. A mistake in the
// file's shape (a CSV header, an unclosed quote, JSON that is not an array) ends the reading.
class ProductReader {
 public:
  virtual ~ProductReader() = default;
  // The next good row's product; false at the end (or after a mistake that ends the reading).
  virtual bool next(ProductChange& product, std::vector<std::string>& problems) = 0;
  std::size_t rows() const { return rows_; }  // rows (CSV records, array elements) read so far, good or not

 protected:
  std::size_t rows_ = 0;
};

// Reads `in`, which must outlive the reader; prices are checked against the shop's `currency` (which
// must outlive it too).
std::unique_ptr<ProductReader> read_products(std::istream& in, FileFormat format, const common::Currency& currency);

// The products `orderd demo-data` loads (and `make run` through it), priced in `currency`: in a
// zero-decimal one such as JPY a price of 24.50 becomes 2,450 (every price can be charged).
std::vector<ProductChange> demo_products(const common::Currency& currency);

}  // namespace catalog
