#include "common/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace common {
namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kMicrosPerSecond = 1'000'000;

// A big-endian integer of `n` bytes at `at` (TZif's byte order).
std::int64_t big_endian(const std::string& data, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(data.at(at + i));
  if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// The six counts of a TZif header at `at`: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
struct Counts {
  std::size_t isut, isstd, leap, time, type, chars;
  std::size_t block(std::size_t time_size) const {
    return time * time_size + time + type * 6 + chars + leap * (time_size + 4) + isstd + isut;
  }
};

Counts counts_at(const std::string& data, std::size_t at) {
  if (data.size() < at + 44 || data.compare(at, 4, "TZif") != 0) throw std::invalid_argument("not a TZif file");
  auto n = [&](int i) { return static_cast<std::size_t>(big_endian(data, at + 20 + 4 * i, 4)); };
  return {n(0), n(1), n(2), n(3), n(4), n(5)};
}

// A zone name is a relative path of letters, digits and - + _ /, with no ".." (it names a file).
bool plausible_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

// The file's bytes; empty when there is none (or it is a directory, such as "Europe").
std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TimeZone TimeZone::utc() { return TimeZone(); }

// RFC 8536: a version 1 block of 32-bit times, then (version 2 and later) the same again with 64-bit
// times, which is the one read here when present.
TimeZone TimeZone::load(const std::string& name, std::string dir) {
  if (name == "UTC") return utc();
  if (!plausible_name(name)) throw std::invalid_argument("\"" + name + "\" is not an IANA time zone name");
  if (dir.empty()) dir = std::getenv("TZDIR") ? std::getenv("TZDIR") : "/usr/share/zoneinfo";
  auto data = read_file(dir + "/" + name);
  if (data.empty()) throw std::invalid_argument("unknown time zone \"" + name + "\" (no such file in " + dir + ")");
  auto counts = counts_at(data, 0);
  std::size_t at = 44, time_size = 4;
  if (data[4] >= '2') {
    at = 44 + counts.block(4);
    counts = counts_at(data, at);
    at += 44;
    time_size = 8;
  }
  if (data.size() < at + counts.block(time_size) || counts.type == 0) {
    throw std::invalid_argument("truncated TZif file");
  }
  TimeZone zone;
  zone.name_ = name;
  auto types_at = at + counts.time * (time_size + 1);
  auto offset_of = [&](std::size_t type) {
    if (type >= counts.type) throw std::invalid_argument("bad TZif type index");
    return static_cast<std::int32_t>(big_endian(data, types_at + type * 6, 4));
  };
  for (std::size_t i = 0; i < counts.time; ++i) {
    zone.transitions_.push_back(big_endian(data, at + i * time_size, time_size));
    zone.offsets_.push_back(offset_of(static_cast<unsigned char>(data[at + counts.time * time_size + i])));
  }
  zone.initial_offset_ = offset_of(0);
  return zone;
}

std::int32_t TimeZone::offset_at(std::int64_t utc_seconds) const {
  auto after = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (after == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<std::size_t>(after - transitions_.begin() - 1)];
}

std::int64_t TimeZone::local_day(std::int64_t utc_micros) const {
  auto seconds = utc_micros / kMicrosPerSecond - (utc_micros % kMicrosPerSecond < 0 ? 1 : 0);
  auto local = seconds + offset_at(seconds);
  return local / kSecondsPerDay - (local % kSecondsPerDay < 0 ? 1 : 0);
}

// The first second whose local day is `day`: local days only move forward with time (a zone's
// offset changes by less than a day), so a binary search over the two days around it finds it.
std::int64_t TimeZone::day_start(std::int64_t day) const {
  std::int64_t low = day * kSecondsPerDay - 2 * kSecondsPerDay, high = day * kSecondsPerDay + 2 * kSecondsPerDay;
  while (low < high) {
    auto mid = low + (high - low) / 2;
    if (local_day(mid * kMicrosPerSecond) >= day) high = mid;
    else low = mid + 1;
  }
  return low * kMicrosPerSecond;
}

bool parse_day(std::string_view text, std::int64_t& day) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int y = 0;
  unsigned m = 0, d = 0;
  auto number = [&](std::size_t at, std::size_t n, auto& out) {
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + n, out);
    return ec == std::errc{} && end == text.data() + at + n;
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return false;
  std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!date.ok() || y < 1970) return false;
  day = std::chrono::sys_days(date).time_since_epoch().count();
  return true;
}

std::string format_day(std::int64_t day) {
  std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{day}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  return text;
}

}  // namespace common
