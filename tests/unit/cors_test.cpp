// Which origins' pages may call the API (http/cors.hpp).
#include "http/cors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using http::CorsPolicy;

TEST(CorsPolicy, AllowsExactlyTheListedOrigins) {
  auto policy = CorsPolicy::parse(" https://shop.example.com, http://localhost:3000 ");
  EXPECT_TRUE(policy.allows("https://shop.example.com"));
  EXPECT_TRUE(policy.allows("http://localhost:3000"));
  for (const char* other : {"", "null", "http://shop.example.com", "https://shop.example.com:443x",
                            "https://shop.example.com.evil.example", "https://evil.example", "http://localhost:3001"}) {
    EXPECT_FALSE(policy.allows(other)) << other;
  }
  EXPECT_FALSE(CorsPolicy::parse("").allows("https://shop.example.com"));
  EXPECT_TRUE(CorsPolicy::parse("*").allows("https://any.example"));
  EXPECT_FALSE(CorsPolicy::parse("*").allows(""));
}

TEST(CorsPolicy, RefusesWhatIsNotAnOrigin) {
  for (const char* bad : {"shop.example.com", "https://shop.example.com/", "https://shop.example.com/x", "ftp://a.example",
                          "https://Shop.example.com", "https://a.example,,https://b.example", "https://u@a.example",
                          "https://a.example?x", ","}) {
    EXPECT_THROW(CorsPolicy::parse(bad), std::invalid_argument) << bad;
  }
}
