#pragma once
// A small Prometheus registry: request series for the HTTP layer, named counters, histograms and gauges
// for the domains. Rendered in the text exposition format by render().

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace common {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Observations counted into fixed buckets. observe() takes no lock (a few relaxed atomics), so it is
// cheap on hot paths; render() may see an observation half-counted, which Prometheus tolerates.
class Histogram {
 public:
  explicit Histogram(std::span<const double> upper_bounds);
  void observe(double value) noexcept;

  const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
  // Per-bucket counts (not cumulative); the last entry counts values above every bound.
  std::vector<std::uint64_t> bucket_counts() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 slots
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  static constexpr std::array<double, 13> kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,    0.25,  0.5,    1,     2.5,  5};

  // One finished HTTP request: route is the pattern ("/store/orders/{id}"), not the raw path.
  void observe_request(std::string_view method, std::string_view route, int status, double seconds);

  // A counter series; `labels` is the inside of the braces, e.g. outcome="succeeded". Stable address.
  Counter& counter(std::string_view name, std::string_view help, std::string_view labels = {});

  // A histogram series; like counter(), `labels` is the inside of the braces. The buckets given when a
  // family is first registered are the family's buckets. Stable address.
  Histogram& histogram(std::string_view name, std::string_view help, std::string_view labels = {},
                       std::span<const double> buckets = kLatencyBuckets);

  // A gauge read when /metrics is rendered (e.g. the email queue depth).
  // `labels` as for counter() (one series per name).
  void gauge(std::string_view name, std::string_view help, std::function<double()> read, std::string_view labels = {});

  std::string render() const;

 private:
  struct RequestSeries {
    std::uint64_t count = 0;
    double sum = 0;
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
  };
  struct Family {
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> series;  // labels -> counter
  };
  struct HistogramFamily {
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, std::unique_ptr<Histogram>> series;  // labels -> histogram
  };
  struct Gauge {
    std::string help;
    std::function<double()> read;
    std::string labels;
  };

  mutable std::mutex mutex_;
  std::map<std::string, RequestSeries> requests_;  // key: method="GET",route="/x",status="200"
  std::map<std::string, Family, std::less<>> counters_;
  std::map<std::string, HistogramFamily, std::less<>> histograms_;
  std::map<std::string, Gauge, std::less<>> gauges_;
};

}  // namespace common
