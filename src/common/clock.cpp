#include "common/clock.hpp"

#include <chrono>
#include <fmt/format.h>

namespace common {

std::int64_t now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// Digits written by hand rather than by fmt: every order body and webhook event carries two or more of
// these, and on SQLite a webhook's are written on the one writer thread. Years outside 0-9999 (never a
// real order's) keep fmt's form.
std::string format_rfc3339(std::int64_t micros) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{micros}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  auto year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", year, static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()), hms.hours().count(), hms.minutes().count(),
                       hms.seconds().count(), hms.subseconds().count());
  }
  std::string out = "0000-00-00T00:00:00.000000Z";
  auto put = [&](std::size_t at, long long value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, hms.hours().count(), 2);
  put(14, hms.minutes().count(), 2);
  put(17, hms.seconds().count(), 2);
  put(20, hms.subseconds().count(), 6);
  return out;
}

}  // namespace common
