// Issue #20's small pieces: link tokens (32 random bytes, base64url) and their stored hash, and the
// sealing of an account email's link in the outbox (notify::Sealer).
#include "auth/tokens.hpp"
#include "notify/sealed.hpp"

#include <gtest/gtest.h>

#include <set>

TEST(LinkTokens, AreFortyThreeUrlSafeCharactersAndNeverRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto token = auth::new_link_token();
    EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64 without padding
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(LinkTokens, AreStoredAsTheirSha256InHex) {
  EXPECT_EQ(auth::link_token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(auth::link_token_hash("abd"), auth::link_token_hash("abc"));
}

TEST(Sealer, OpensWhatItSealedAndNothingElse) {
  notify::Sealer sealer("a-secret-of-the-server-0123456789");
  boost::json::object fields{{"reset_url", "https://shop.example.com/account/reset-password?token=T0KEN"}};
  auto sealed = sealer.seal(fields);
  EXPECT_EQ(sealed.find("T0KEN"), std::string::npos);
  EXPECT_NE(sealer.seal(fields), sealed);  // a fresh nonce each time
  EXPECT_EQ(sealer.open(sealed), fields);
  EXPECT_THROW(notify::Sealer("another-secret-0123456789abcdef").open(sealed), std::runtime_error);
  auto tampered = sealed;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_THROW(sealer.open(tampered), std::runtime_error);
  EXPECT_THROW(sealer.open("not base64 at all!"), std::runtime_error);
  EXPECT_THROW(sealer.open(""), std::runtime_error);
}
