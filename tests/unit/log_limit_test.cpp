// common::LogLimit: a message that repeats thousands of times a second is logged once per interval,
// with how many were left out.

#include "common/log_limit.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(LogLimit, TheFirstIsLoggedThenOnePerIntervalCountingTheRest) {
  common::LogLimit limit(10s);
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_EQ(limit.allow(t0), std::optional<std::int64_t>(0));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limit.allow(t0 + 9s));
  EXPECT_EQ(limit.allow(t0 + 10s), std::optional<std::int64_t>(1000));
  EXPECT_FALSE(limit.allow(t0 + 11s));
  EXPECT_EQ(limit.allow(t0 + 30s), std::optional<std::int64_t>(1));
  EXPECT_EQ(common::left_out_note(0), "");
  EXPECT_EQ(common::left_out_note(1000), " (and 1000 more like it left out)");
}
