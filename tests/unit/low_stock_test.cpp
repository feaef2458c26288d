#include "catalog/low_stock.hpp"

#include <gtest/gtest.h>

// The line is crossed by the change that takes stock from at least the threshold to below it; a
// product already low, or a restock, crosses nothing (one alert per crossing, not per sale).
TEST(LowStock, OnlyTheChangeThatGoesBelowTheThresholdCrossesIt) {
  EXPECT_TRUE(catalog::crosses_below(5, 4, 5));
  EXPECT_TRUE(catalog::crosses_below(100, 0, 5));
  EXPECT_FALSE(catalog::crosses_below(6, 5, 5));
  EXPECT_FALSE(catalog::crosses_below(4, 3, 5));
  EXPECT_FALSE(catalog::crosses_below(3, 8, 5));
  EXPECT_FALSE(catalog::crosses_below(5, 5, 5));
}

TEST(LowStock, AThresholdOfZeroIsNeverCrossed) {
  EXPECT_FALSE(catalog::crosses_below(1, 0, 0));
  EXPECT_FALSE(catalog::crosses_below(1'000'000'000, 0, 0));
}
