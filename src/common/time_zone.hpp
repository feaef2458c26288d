#pragma once
// The shop's time zone (setting shop_timezone, an IANA name such as "Europe/Berlin"): which local
// day an instant falls on and when a local day starts, for the dashboard's days and the exports'
// from/to. GCC 12's libstdc++ has no std::chrono::tzdb, so the zone is read from the system's
// compiled tz database (TZif files, RFC 8536, under /usr/share/zoneinfo or $TZDIR): its transitions
// and the UTC offset after each. Past the file's last transition (2037 in the "fat" files Debian
// ships) the last offset holds; the file's POSIX rule for later years is not read.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace common {

class TimeZone {
 public:
  static TimeZone utc();
  // The zone `name` from `dir` (default: $TZDIR, else /usr/share/zoneinfo). Throws
  // std::invalid_argument naming the problem when `name` is not a zone there (start-up refuses it).
  static TimeZone load(const std::string& name, std::string dir = "");

  const std::string& name() const { return name_; }
  // Seconds east of UTC at the instant `utc_seconds`.
  std::int32_t offset_at(std::int64_t utc_seconds) const;
  // The local day (days since 1970-01-01, local calendar) of an instant in microseconds.
  std::int64_t local_day(std::int64_t utc_micros) const;
  // The first instant (microseconds) of a local day: local midnight, or the end of a gap that
  // swallowed midnight (a zone that springs forward at 00:00).
  std::int64_t day_start(std::int64_t local_day) const;

 private:
  std::string name_ = "UTC";
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets_;      // the offset from each transition on
  std::int32_t initial_offset_ = 0;        // before the first transition
};

// "2024-05-04" (a real date, 1970 or later) as days since 1970-01-01 in `day`; false when it is not one.
bool parse_day(std::string_view text, std::int64_t& day);
// Days since 1970-01-01 as "2024-05-04".
std::string format_day(std::int64_t day);

}  // namespace common
