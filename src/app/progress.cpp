#include "app/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

namespace app {
namespace {

constexpr auto kRedraw = std::chrono::milliseconds(100);  // a terminal's bar
constexpr auto kPlainEvery = std::chrono::seconds(3);      // a log's line
constexpr std::size_t kWidth = 30;

std::string seconds_text(double seconds) {
  auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

}  // namespace

Progress::Progress(std::string what, std::size_t total, bool terminal, std::ostream& out, Clock clock)
    : what_(std::move(what)), total_(total), terminal_(terminal), out_(out),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      started_(clock_()), last_shown_(started_) {}

Progress Progress::on_stderr(std::string what, std::size_t total) {
  return Progress(std::move(what), total, isatty(STDERR_FILENO) == 1, std::cerr);
}

double Progress::elapsed() const { return std::chrono::duration<double>(clock_() - started_).count(); }

std::string Progress::bar(std::size_t done, double seconds) const {
  auto filled = total_ > 0 ? kWidth * std::min(done, total_) / total_ : 0;
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string text = "[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] " + std::to_string(done);
  if (total_ > 0) text += "/" + std::to_string(total_);
  text += " " + what_ + "  " + std::to_string(static_cast<long long>(rate)) + "/s";
  if (total_ > 0 && rate > 0 && done < total_) text += "  " + seconds_text((total_ - done) / rate) + " left";
  return text;
}

std::string Progress::line(std::size_t done, double seconds) const {
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string text = std::to_string(done);
  if (total_ > 0) text += " of " + std::to_string(total_);
  text += " " + what_;
  if (total_ > 0) text += " (" + std::to_string(100 * std::min(done, total_) / total_) + "%)";
  text += ", " + std::to_string(static_cast<long long>(rate)) + " " + what_ + "/s";
  if (total_ > 0 && rate > 0 && done < total_) text += ", about " + seconds_text((total_ - done) / rate) + " left";
  return text;
}

void Progress::operator()(std::size_t done) {
  done_ = done;
  auto now = clock_();
  if (now - last_shown_ < (terminal_ ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(kRedraw)
                                     : std::chrono::duration_cast<std::chrono::steady_clock::duration>(kPlainEvery))) {
    return;
  }
  last_shown_ = now;
  auto seconds = elapsed();
  if (terminal_) out_ << "\r" << bar(done, seconds) << "\x1b[K" << std::flush;
  else out_ << line(done, seconds) << "\n" << std::flush;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  auto seconds = elapsed();
  if (terminal_) out_ << "\r" << bar(done_, seconds) << "\x1b[K\n";
  out_ << "done: " << done_ << " " << what_ << " in " << seconds_text(seconds) << "\n" << std::flush;
}

}  // namespace app
