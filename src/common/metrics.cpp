#include "common/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace common {

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

void Metrics::observe_request(std::string_view method, std::string_view route, int status, double seconds) {
  auto key = fmt::format(R"(method="{}",route="{}",status="{}")", method, route, status);
  std::lock_guard lock(mutex_);
  auto& series = requests_[std::move(key)];
  ++series.count;
  series.sum += seconds;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++series.buckets[i];
  }
}

Counter& Metrics::counter(std::string_view name, std::string_view help, std::string_view labels) {
  std::lock_guard lock(mutex_);
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(std::string(name), Family{std::string(help), {}}).first;
  auto& slot = it->second.series[std::string(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help, std::string_view labels,
                              std::span<const double> buckets) {
  std::lock_guard lock(mutex_);
  auto it = histograms_.find(name);
  if (it == histograms_.end()) {
    HistogramFamily family{std::string(help), std::vector<double>(buckets.begin(), buckets.end()), {}};
    std::sort(family.buckets.begin(), family.buckets.end());
    it = histograms_.emplace(std::string(name), std::move(family)).first;
  }
  auto& slot = it->second.series[std::string(labels)];
  if (!slot) slot = std::make_unique<Histogram>(it->second.buckets);
  return *slot;
}

void Metrics::gauge(std::string_view name, std::string_view help, std::function<double()> read,
                    std::string_view labels) {
  std::lock_guard lock(mutex_);
  gauges_.insert_or_assign(std::string(name), Gauge{std::string(help), std::move(read), std::string(labels)});
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP orderd_http_requests_total HTTP requests by route and status.\n"
         "# TYPE orderd_http_requests_total counter\n";
  for (const auto& [labels, s] : requests_) out += fmt::format("orderd_http_requests_total{{{}}} {}\n", labels, s.count);
  out += "# HELP orderd_http_request_duration_seconds HTTP request latency.\n"
         "# TYPE orderd_http_request_duration_seconds histogram\n";
  for (const auto& [labels, s] : requests_) {
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      out += fmt::format("orderd_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kLatencyBuckets[i],
                         s.buckets[i]);
    }
    out += fmt::format("orderd_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, s.count);
    out += fmt::format("orderd_http_request_duration_seconds_sum{{{}}} {}\n", labels, s.sum);
    out += fmt::format("orderd_http_request_duration_seconds_count{{{}}} {}\n", labels, s.count);
  }
  for (const auto& [name, family] : counters_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, family.help, name);
    for (const auto& [labels, c] : family.series) {
      if (labels.empty()) out += fmt::format("{} {}\n", name, c->value());
      else out += fmt::format("{}{{{}}} {}\n", name, labels, c->value());
    }
  }
  for (const auto& [name, family] : histograms_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, family.help, name);
    for (const auto& [labels, h] : family.series) {
      auto prefix = labels.empty() ? std::string() : labels + ",";
      auto braces = labels.empty() ? std::string() : "{" + labels + "}";
      auto counts = h->bucket_counts();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < family.buckets.size(); ++i) {
        cumulative += counts[i];
        out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, family.buckets[i], cumulative);
      }
      cumulative += counts.back();
      out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, h->sum(), name, braces, cumulative);
    }
  }
  for (const auto& [name, g] : gauges_) {
    const auto series = g.labels.empty() ? name : fmt::format("{}{{{}}}", name, g.labels);
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, g.help, name, series, g.read());
  }
  return out;
}

}  // namespace common
