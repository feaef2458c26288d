#pragma once
// Reading a product file for `orderd product import`: a JSON array of product objects, or CSV with the
// header name,description,price,stock. Every row is checked with the API's own rules; problems are
// reported with the line they start on, and a file with any problem imports nothing.

#include "catalog/service.hpp"

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

// The products `orderd demo-data` loads (and `make run` through it).
std::vector<ProductChange> demo_products();

}  // namespace catalog
