#pragma once
// A small Prometheus registry: request series for the HTTP layer, named counters and gauges for
// the domains. Rendered in the text exposition format by render().

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

class Metrics {
 public:
  static constexpr std::array<double, 13> kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,    0.25,  0.5,    1,     2.5,  5};

  // One finished HTTP request: route is the pattern ("/store/orders/{id}"), not the raw path.
  void observe_request(std::string_view method, std::string_view route, int status, double seconds);

  // A counter series; `labels` is the inside of the braces, e.g. outcome="succeeded". Stable address.
  Counter& counter(std::string_view name, std::string_view help, std::string_view labels = {});

  // A gauge read when /metrics is rendered (e.g. the email queue depth).
  void gauge(std::string_view name, std::string_view help, std::function<double()> read);

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
  struct Gauge {
    std::string help;
    std::function<double()> read;
  };

  mutable std::mutex mutex_;
  std::map<std::string, RequestSeries> requests_;  // key: method="GET",route="/x",status="200"
  std::map<std::string, Family, std::less<>> counters_;
  std::map<std::string, Gauge, std::less<>> gauges_;
};

}  // namespace common
