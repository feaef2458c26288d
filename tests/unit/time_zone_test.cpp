// The shop's time zone (common/time_zone.*, issue #22): TZif files read from the system's tz database,
// local days and their first instants across daylight-saving changes.

#include "common/time_zone.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using common::TimeZone;

namespace {

constexpr std::int64_t kMicros = 1'000'000;

std::int64_t day(const char* text) {
  std::int64_t d = 0;
  EXPECT_TRUE(common::parse_day(text, d)) << text;
  return d;
}

}  // namespace

TEST(TimeZone, UtcDaysStartAtMidnight) {
  auto utc = TimeZone::utc();
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.day_start(day("2024-05-04")), 1714780800 * kMicros);
  EXPECT_EQ(utc.local_day(1714780800 * kMicros - 1), day("2024-05-03"));
  EXPECT_EQ(common::format_day(day("2024-02-29")), "2024-02-29");
}

TEST(TimeZone, BerlinDaysFollowSummerTime) {
  auto berlin = TimeZone::load("Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(1704067200), 3600);  // 2024-01-01: CET
  EXPECT_EQ(berlin.offset_at(1719792000), 7200);  // 2024-07-01: CEST
  // 2024-03-31 starts at 23:00 UTC the day before (CET); the next day at 22:00 UTC (CEST).
  EXPECT_EQ(berlin.day_start(day("2024-03-31")), 1711839600 * kMicros);
  EXPECT_EQ(berlin.day_start(day("2024-04-01")), 1711922400 * kMicros);
  EXPECT_EQ(berlin.local_day(1711922400 * kMicros), day("2024-04-01"));
  EXPECT_EQ(berlin.local_day(1711922400 * kMicros - 1), day("2024-03-31"));
}

TEST(TimeZone, AQuarterHourZoneAndOneWhoseMidnightSkipped) {
  auto nepal = TimeZone::load("Asia/Kathmandu");  // UTC+5:45
  EXPECT_EQ(nepal.day_start(day("2024-05-04")), (1714780800 - 5 * 3600 - 45 * 60) * kMicros);
  // Samoa skipped 2011-12-30 entirely (it moved across the date line): the 31st follows the 29th.
  auto samoa = TimeZone::load("Pacific/Apia");
  EXPECT_EQ(samoa.day_start(day("2011-12-30")), samoa.day_start(day("2011-12-31")));
  EXPECT_LT(samoa.day_start(day("2011-12-29")), samoa.day_start(day("2011-12-31")));
}

TEST(TimeZone, NamesThatAreNotZonesAreRefused) {
  // A directory of the database ("Europe") aborted the process from inside the stream's read.
  for (const char* name : {"Mars/Olympus_Mons", "../../etc/passwd", "/etc/passwd", "Europe/Berlin\n", "", "Europe",
                           "America", "Etc", "Europe/"}) {
    EXPECT_THROW(TimeZone::load(name), std::invalid_argument) << name;
  }
  std::int64_t d = 0;
  for (const char* text : {"2024-02-30", "2024-5-4", "24-05-04", "2024-05-04T00", "1969-12-31", "yesterday"}) {
    EXPECT_FALSE(common::parse_day(text, d)) << text;
  }
}
