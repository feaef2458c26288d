#include "auth/password.hpp"
#include "auth/service.hpp"
#include "auth/throttle.hpp"
#include "auth/tokens.hpp"
#include "common/error.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace {

std::vector<std::string> failing_fields(auth::NewUser user) {
  try {
    auth::validate_new_user(user);
  } catch (const common::Error& e) {
    std::vector<std::string> fields;
    for (const auto& [k, v] : e.details()) fields.emplace_back(k);
    return fields;
  }
  return {};
}

auth::NewUser valid() { return {"Someone@Example.com ", "someone", "a-good-password", "+1 415 555 0123"}; }

}  // namespace

TEST(Registration, NormalisesEmailAndPhone) {
  auto user = valid();
  auth::validate_new_user(user);
  EXPECT_EQ(user.email, "someone@example.com");
  EXPECT_EQ(user.phone_number, "+14155550123");
}

TEST(Registration, EachRuleNamesItsField) {
  auto with = [](auto change) {
    auto u = valid();
    change(u);
    return failing_fields(u);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(with([](auto& u) { u.email = "nope"; }), V{"email"});
  EXPECT_EQ(with([](auto& u) { u.email = "a@localhost"; }), V{"email"});
  EXPECT_EQ(with([](auto& u) { u.email = ".a@example.com"; }), V{"email"});
  EXPECT_EQ(with([](auto& u) { u.username = std::string(51, 'u'); }), V{"username"});
  EXPECT_EQ(with([](auto& u) { u.username = "a/b"; }), V{"username"});
  EXPECT_EQ(with([](auto& u) { u.password = "short"; }), V{"password"});
  EXPECT_EQ(with([](auto& u) { u.password = "12345678"; }), V{"password"});
  EXPECT_EQ(with([](auto& u) { u.password = std::string(129, 'p'); }), V{"password"});
  EXPECT_EQ(with([](auto& u) { u.password = "SOMEONE"; }), V{"password"});
  EXPECT_EQ(with([](auto& u) { u.password = "someone@example.com"; }), V{"password"});
  EXPECT_EQ(with([](auto& u) { u.phone_number = "12"; }), V{"phone_number"});
  EXPECT_EQ(with([](auto& u) { u.phone_number = "+1 (415) x"; }), V{"phone_number"});
  EXPECT_TRUE(with([](auto& u) { u.password = std::string(128, 'p'); }).empty());
  EXPECT_TRUE(with([](auto& u) { u.password = "ééééééé1"; }).empty());  // 8 characters, 15 bytes
  EXPECT_TRUE(with([](auto& u) { u.username = "a.b+c-d_e@f"; }).empty());
}

TEST(Throttle, BlocksAfterTheLimitUntilTheWindowPasses) {
  auth::Throttle t(3, 60s);
  auto start = auth::Throttle::Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.retry_after("k", start), 0);
    t.record("k", start + std::chrono::seconds(i));
  }
  EXPECT_EQ(t.retry_after("k", start + 10s), 50);
  EXPECT_EQ(t.retry_after("other", start + 10s), 0);
  EXPECT_EQ(t.retry_after("k", start + 60s), 0);  // the first failure left the window
  t.reset("k");
  EXPECT_EQ(t.retry_after("k", start + 10s), 0);
}

TEST(Throttle, KeepsAtMostMaxKeys) {
  auth::Throttle t(1, 60s, 10);
  auto now = auth::Throttle::Clock::now();
  for (int i = 0; i < 1000; ++i) t.record("k" + std::to_string(i), now);
  int blocked = 0;
  for (int i = 0; i < 1000; ++i) blocked += t.retry_after("k" + std::to_string(i), now) > 0;
  EXPECT_LE(blocked, 10);
  EXPECT_GT(t.retry_after("k999", now), 0);  // the newest is kept
}

TEST(Tokens, RoundTripAndRejectWrongTypeOrExpiry) {
  auth::TokenSigner signer(std::string(40, 's'), 60s, 3600s);
  auto access = signer.access_token(7, auth::Role::staff, 1000);
  auto claims = signer.verify_access(access, 1001);
  EXPECT_EQ(claims.user_id, 7);
  EXPECT_EQ(claims.role, auth::Role::staff);
  auto refresh = signer.refresh_token(7, "fam", 1000);
  EXPECT_EQ(signer.verify_refresh(refresh.token, 1001).family, "fam");
  auto code_of = [](auto fn) {
    try {
      fn();
    } catch (const common::Error& e) {
      return e.code();
    }
    return std::string("none");
  };
  EXPECT_EQ(code_of([&] { signer.verify_access(refresh.token, 1001); }), "token_invalid");
  EXPECT_EQ(code_of([&] { signer.verify_refresh(access, 1001); }), "token_invalid");
  EXPECT_EQ(code_of([&] { signer.verify_access(access, 1060); }), "token_expired");
  auth::TokenSigner other(std::string(40, 'o'), 60s, 3600s);
  EXPECT_EQ(code_of([&] { other.verify_access(access, 1001); }), "token_invalid");
  EXPECT_EQ(code_of([&] { signer.verify_access(std::string(5000, 'a'), 1001); }), "token_invalid");
  // Only base64url and dots: a valid token with anything after a NUL is not that token.
  EXPECT_EQ(code_of([&] { signer.verify_access(access + std::string(1, '\0') + "x.", 1001); }), "token_invalid");
  EXPECT_EQ(code_of([&] { signer.verify_access(access + " ", 1001); }), "token_invalid");
}

TEST(Passwords, HashIsArgon2idAndVerifies) {
  auth::PasswordHasher hasher(auth::PasswordCost::minimum);
  auto h = hasher.hash("pa55word!");
  EXPECT_EQ(h.rfind("$argon2id$v=19$", 0), 0u);
  EXPECT_TRUE(hasher.verify("pa55word!", h));
  EXPECT_FALSE(hasher.verify("pa55word?", h));
  EXPECT_NE(hasher.hash("pa55word!"), h);  // salted
}

TEST(Passwords, EachCostNamesItsParametersInTheHash) {
  auto params = [](std::string_view name) {
    auth::PasswordHasher hasher(auth::parse_password_cost(name));
    auto h = hasher.hash("pa55word!");
    EXPECT_TRUE(hasher.verify("pa55word!", h));
    return h.substr(0, h.find('$', 16));  // "$argon2id$v=19$m=...,t=...,p=1"
  };
  EXPECT_EQ(params("owasp"), "$argon2id$v=19$m=12288,t=3,p=1");
  EXPECT_EQ(params("interactive"), "$argon2id$v=19$m=65536,t=2,p=1");
  EXPECT_THROW(auth::parse_password_cost("fast"), std::invalid_argument);
}

TEST(TokenCache, RepeatedVerificationGivesTheSameAnswersAsTheFirst) {
  auth::TokenSigner signer("0123456789abcdef0123456789abcdef", std::chrono::seconds(60), std::chrono::seconds(600));
  auto token = signer.access_token(42, auth::Role::staff, 1000);
  for (int i = 0; i < 3; ++i) {  // the first call verifies, the others come from the cache
    auto claims = signer.verify_access(token, 1001);
    EXPECT_EQ(claims.user_id, 42);
    EXPECT_EQ(claims.role, auth::Role::staff);
  }
  // A cached token still expires on time.
  try {
    signer.verify_access(token, 1060);
    FAIL() << "an expired token was accepted";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.code(), "token_expired");
  }
  // A token that differs in one character is verified on its own, and refused.
  auto tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_THROW(signer.verify_access(tampered, 1001), common::Error);
  // A refresh token is not an access token, cached or not.
  auto refresh = signer.refresh_token(42, "family", 1000);
  EXPECT_THROW(signer.verify_access(refresh.token, 1001), common::Error);
}
