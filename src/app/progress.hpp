#pragma once
// The progress of a long command-line job (`orderd product import`) on stderr. On a terminal: one
// line redrawn in place, a bar with the count, the rate and the time left. Elsewhere (a file, a pipe,
// a CI log, where carriage returns make a mess): a plain line every few seconds. Either way a last
// line when the job is done, so a log always shows how long it took.

#include <chrono>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace app {

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `what`: the unit counted ("rows"); `total`: how many there will be (0: unknown).
  Progress(std::string what, std::size_t total, bool terminal, std::ostream& out, Clock clock = {});
  // Stderr, as a terminal when it is one.
  static Progress on_stderr(std::string what, std::size_t total);

  void operator()(std::size_t done);  // `done` so far
  void finish();                      // the last line (once)

  // "[#####     ] 50000/100000 rows  12,345/s  4s left": what the terminal shows.
  std::string bar(std::size_t done, double seconds) const;
  // "50000 of 100000 rows (50%), 12345 rows/s, about 4 s left": the plain line.
  std::string line(std::size_t done, double seconds) const;

 private:
  double elapsed() const;

  std::string what_;
  std::size_t total_;
  bool terminal_;
  std::ostream& out_;
  Clock clock_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_shown_;
  std::size_t done_ = 0;
  bool finished_ = false;
};

}  // namespace app
