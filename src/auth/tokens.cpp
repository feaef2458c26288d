#include "auth/tokens.hpp"

#include "common/error.hpp"

#include <jwt.h>
#include <sodium.h>

#include <cerrno>
#include <functional>
#include <charconv>
#include <cstdlib>
#include <memory>

namespace auth {
namespace {

constexpr std::size_t kMaxTokenLength = 4096;

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using Jwt = std::unique_ptr<jwt_t, JwtDeleter>;

[[noreturn]] void invalid() { throw common::Error("token_invalid", "Token is invalid"); }

std::string encode(const std::string& secret, const std::function<void(jwt_t*)>& add_claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  Jwt jwt(raw);
  add_claims(raw);
  if (jwt_set_alg(raw, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0) {
    throw std::runtime_error("jwt_set_alg failed");
  }
  char* text = jwt_encode_str(raw);
  if (text == nullptr) throw std::runtime_error("jwt_encode_str failed");
  std::string token(text);
  std::free(text);
  return token;
}

// Verifies signature, algorithm, "typ" and expiry; returns the decoded token for its other claims.
Jwt decode(const std::string& secret, std::string_view token, std::string_view typ, std::int64_t now,
           std::int64_t* expires_at = nullptr) {
  if (token.empty() || token.size() > kMaxTokenLength) invalid();
  // A compact JWS is base64url and two dots, nothing else. libjwt reads a C string, so without this
  // a valid token followed by a NUL and anything at all verified as that token (found by fuzzing).
  constexpr std::string_view kTokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  if (token.find_first_not_of(kTokenAlphabet) != std::string_view::npos) invalid();
  std::string text(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 0) {
    jwt_free(raw);
    invalid();
  }
  Jwt jwt(raw);
  if (jwt_get_alg(raw) != JWT_ALG_HS256) invalid();
  const char* claim_typ = jwt_get_grant(raw, "typ");
  if (claim_typ == nullptr || typ != claim_typ) invalid();
  errno = 0;
  long exp = jwt_get_grant_int(raw, "exp");
  if (errno != 0) invalid();
  if (exp <= now) throw common::Error("token_expired", "Token has expired");
  if (expires_at) *expires_at = exp;
  return jwt;
}

std::int64_t subject(jwt_t* jwt) {
  const char* sub = jwt_get_grant(jwt, "sub");
  if (sub == nullptr) invalid();
  std::string_view s(sub);
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc{} || end != s.data() + s.size() || id <= 0) invalid();
  return id;
}

std::string required_text(jwt_t* jwt, const char* claim) {
  const char* v = jwt_get_grant(jwt, claim);
  if (v == nullptr || *v == '\0') invalid();
  return v;
}

}  // namespace

std::string random_id() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

std::string new_link_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char text[sodium_base64_ENCODED_LEN(sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

std::string link_token_hash(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

TokenSigner::TokenSigner(std::string secret, std::chrono::seconds access_ttl, std::chrono::seconds refresh_ttl)
    : secret_(std::move(secret)), access_ttl_(access_ttl), refresh_ttl_(refresh_ttl) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string TokenSigner::access_token(std::int64_t user_id, Role role, std::int64_t now) const {
  return encode(secret_, [&](jwt_t* j) {
    jwt_add_grant(j, "typ", "access");
    jwt_add_grant(j, "sub", std::to_string(user_id).c_str());
    jwt_add_grant(j, "role", std::string(to_string(role)).c_str());
    jwt_add_grant_int(j, "iat", now);
    jwt_add_grant_int(j, "exp", now + access_ttl_.count());
    jwt_add_grant(j, "jti", random_id().c_str());
  });
}

IssuedRefresh TokenSigner::refresh_token(std::int64_t user_id, std::string_view family, std::int64_t now) const {
  IssuedRefresh issued;
  issued.jti = random_id();
  issued.expires_at = now + refresh_ttl_.count();
  issued.token = encode(secret_, [&](jwt_t* j) {
    jwt_add_grant(j, "typ", "refresh");
    jwt_add_grant(j, "sub", std::to_string(user_id).c_str());
    jwt_add_grant(j, "fam", std::string(family).c_str());
    jwt_add_grant_int(j, "iat", now);
    jwt_add_grant_int(j, "exp", issued.expires_at);
    jwt_add_grant(j, "jti", issued.jti.c_str());
  });
  return issued;
}

AccessClaims TokenSigner::verify_access(std::string_view token, std::int64_t now) const {
  if (auto known = verified_access_.find(token, now)) return *known;
  std::int64_t expires_at = 0;
  auto jwt = decode(secret_, token, "access", now, &expires_at);
  auto user_id = subject(jwt.get());
  auto role = parse_role(required_text(jwt.get(), "role"));
  if (!role) invalid();
  AccessClaims claims{user_id, *role};
  verified_access_.remember(token, claims, expires_at);
  return claims;
}

RefreshClaims TokenSigner::verify_refresh(std::string_view token, std::int64_t now) const {
  auto jwt = decode(secret_, token, "refresh", now);
  return {subject(jwt.get()), required_text(jwt.get(), "jti"), required_text(jwt.get(), "fam")};
}

}  // namespace auth
