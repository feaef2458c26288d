#pragma once
// Low stock: a product's stock below the shop's `low_stock_threshold` setting. The staff dashboard
// lists such products. The change that takes a product across the line (from at least the threshold
// to below it) is told once, inside the transaction that made it, to whoever listens (the low-stock
// email to staff, the product.low_stock webhook): nothing is told of a change that rolled back, and
// a product that stays low is not told of again until a restock has lifted it to the threshold.

#include "db/database.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace catalog {

struct LowStock {
  std::int64_t product_id = 0;
  std::int64_t stock = 0;  // after the change
  std::int64_t threshold = 0;
};

// Whether stock going from `before` to `after` crosses below `threshold`.
constexpr bool crosses_below(std::int64_t before, std::int64_t after, std::int64_t threshold) {
  return before >= threshold && after < threshold;
}

class StockWatch {
 public:
  using Listener = std::function<void(db::Connection&, const LowStock&)>;

  static constexpr std::int64_t kDefaultThreshold = 5;

  explicit StockWatch(std::int64_t threshold = kDefaultThreshold) : threshold_(threshold) {}

  std::int64_t threshold() const noexcept { return threshold_; }
  // Listeners are added while the process is wired, before it serves.
  void listen(Listener listener) { listeners_.push_back(std::move(listener)); }
  // Every write that lowers a product's stock calls this inside its transaction; a listener's
  // exception rolls the change back.
  void changed(db::Connection& c, std::int64_t product_id, std::int64_t before, std::int64_t after) const {
    if (!crosses_below(before, after, threshold_)) return;
    for (const auto& listener : listeners_) listener(c, {product_id, after, threshold_});
  }

 private:
  std::int64_t threshold_;
  std::vector<Listener> listeners_;
};

}  // namespace catalog
