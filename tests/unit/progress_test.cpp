// The import's progress (app/progress.*, issue #22): the terminal's bar and the log's plain line, with
// the rate and the time left, from a clock the test moves.

#include "app/progress.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  app::Progress::Clock clock() {
    return [this] { return now; };
  }
};

}  // namespace

TEST(Progress, TheBarShowsCountRateAndTimeLeft) {
  FakeClock t;
  std::ostringstream out;
  app::Progress p("rows", 1000, true, out, t.clock());
  EXPECT_EQ(p.bar(250, 5.0), "[#######                       ] 250/1000 rows  50/s  15 s left");
  EXPECT_EQ(p.bar(1000, 20.0), "[##############################] 1000/1000 rows  50/s");
  t.now += 50ms;
  p(10);
  EXPECT_EQ(out.str(), "");  // redrawn at most every 100 ms
  t.now += 100ms;
  p(20);
  EXPECT_EQ(out.str().rfind("\r[", 0), 0u);
  EXPECT_NE(out.str().find("20/1000 rows"), std::string::npos);
}

TEST(Progress, ALogGetsAPlainLineEveryFewSecondsAndALastOne) {
  FakeClock t;
  std::ostringstream out;
  app::Progress p("rows", 100000, false, out, t.clock());
  EXPECT_EQ(p.line(40000, 10.0), "40000 of 100000 rows (40%), 4000 rows/s, about 15 s left");
  EXPECT_EQ(p.line(100000, 4000.0), "100000 of 100000 rows (100%), 25 rows/s");
  t.now += 1s;
  p(1000);
  EXPECT_EQ(out.str(), "");
  t.now += 2s;
  p(3000);
  EXPECT_EQ(out.str(), "3000 of 100000 rows (3%), 1000 rows/s, about 1 min 37 s left\n");
  t.now += 1s;
  p(100000);
  p.finish();
  p.finish();
  EXPECT_EQ(out.str(), "3000 of 100000 rows (3%), 1000 rows/s, about 1 min 37 s left\ndone: 100000 rows in 4 s\n");
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}
