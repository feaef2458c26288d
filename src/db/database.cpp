#include "db/database.hpp"

#include "common/error.hpp"
#include "db/sqlite.hpp"

namespace db {

std::int64_t Row::integer(int column) const {
  if (const auto* v = std::get_if<std::int64_t>(&cells_[column])) return *v;
  throw std::runtime_error("column " + std::to_string(column) + " is not an integer");
}

const std::string& Row::text(int column) const {
  if (const auto* v = std::get_if<std::string>(&cells_[column])) return *v;
  throw std::runtime_error("column " + std::to_string(column) + " is not text");
}

std::optional<std::int64_t> Row::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

std::optional<std::string> Row::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::unique_ptr<Database> open(const std::string& url, const Options& options) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) return std::make_unique<SqliteDatabase>(url.substr(kSqlite.size()), options);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    throw std::runtime_error("PostgreSQL is not supported by this build yet; use sqlite://PATH");
  }
  throw std::runtime_error("unsupported database URL '" + url + "' (expected sqlite://PATH)");
}

}  // namespace db
