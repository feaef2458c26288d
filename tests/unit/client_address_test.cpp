// Which address a request is counted, throttled and logged under (http/client_address.hpp).
#include "http/client_address.hpp"

#include <gtest/gtest.h>

using http::TrustedProxies;

TEST(TrustedProxies, ParsesAddressesAndRangesOfBothFamilies) {
  auto proxies = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8,::1");
  EXPECT_TRUE(proxies.contains("127.0.0.1"));
  EXPECT_TRUE(proxies.contains("::ffff:127.0.0.1"));  // the same address as a dual-stack socket names it
  EXPECT_FALSE(proxies.contains("127.0.0.2"));
  EXPECT_TRUE(proxies.contains("10.255.1.2"));
  EXPECT_FALSE(proxies.contains("11.0.0.1"));
  EXPECT_TRUE(proxies.contains("fd12::1"));
  EXPECT_TRUE(proxies.contains("::1"));
  EXPECT_FALSE(proxies.contains("::2"));
  EXPECT_FALSE(proxies.contains("not an address"));
  EXPECT_TRUE(TrustedProxies::parse("").empty());
  EXPECT_TRUE(TrustedProxies::parse(" , ").empty());
}

TEST(TrustedProxies, RefusesWhatIsNotAnAddressOrRange) {
  for (const char* bad : {"nginx", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8x", "::1/129", "1.2.3.4:80", "300.1.1.1"}) {
    EXPECT_THROW(TrustedProxies::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(TrustedProxies, TakesTheRightMostUntrustedAddressOnlyFromATrustedPeer) {
  auto proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(proxies.client_address("127.0.0.1", "203.0.113.7"), "203.0.113.7");
  // The client wrote the left part itself; nginx appended what it saw.
  EXPECT_EQ(proxies.client_address("127.0.0.1", "1.1.1.1, 203.0.113.7"), "203.0.113.7");
  // Two proxies: the balancer (10.0.0.5) appended the client, the local nginx appended the balancer.
  EXPECT_EQ(proxies.client_address("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.5"), "203.0.113.7");
  EXPECT_EQ(proxies.client_address("127.0.0.1", ""), "127.0.0.1");
  EXPECT_EQ(proxies.client_address("127.0.0.1", "garbage, 10.0.0.5"), "10.0.0.5");  // ends at the proxy
  EXPECT_EQ(proxies.client_address("127.0.0.1", "2001:DB8::1"), "2001:db8::1");     // canonical form
  // An untrusted peer's header is ignored.
  EXPECT_EQ(proxies.client_address("198.51.100.9", "203.0.113.7"), "198.51.100.9");
  EXPECT_EQ(proxies.client_address("::ffff:198.51.100.9", "203.0.113.7"), "198.51.100.9");
}
