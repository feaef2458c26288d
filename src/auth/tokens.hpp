#pragma once
// JWT HS256 access and refresh tokens (libjwt). Decoding is followed by our own checks: the
// algorithm must be HS256 (never "none"), the "typ" claim the expected one, "exp" in the future.

#include "auth/role.hpp"
#include "auth/token_cache.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace auth {

struct AccessClaims {
  std::int64_t user_id = 0;
  Role role = Role::customer;
};

struct RefreshClaims {
  std::int64_t user_id = 0;
  std::string jti;
  std::string family;
};

struct IssuedRefresh {
  std::string token;
  std::string jti;
  std::int64_t expires_at = 0;  // seconds since the epoch
};

class TokenSigner {
 public:
  TokenSigner(std::string secret, std::chrono::seconds access_ttl, std::chrono::seconds refresh_ttl);

  std::string access_token(std::int64_t user_id, Role role, std::int64_t now) const;
  IssuedRefresh refresh_token(std::int64_t user_id, std::string_view family, std::int64_t now) const;

  // Throw common::Error token_invalid or token_expired.
  AccessClaims verify_access(std::string_view token, std::int64_t now) const;
  RefreshClaims verify_refresh(std::string_view token, std::int64_t now) const;

 private:
  std::string secret_;
  std::chrono::seconds access_ttl_;
  std::chrono::seconds refresh_ttl_;
  mutable VerifiedTokenCache<AccessClaims> verified_access_;
};

// 128 random bits as 32 hex characters (token ids, families, secrets).
std::string random_id();

// The token of a password-reset or email-verification link: 32 random bytes, base64url without
// padding (43 characters, safe in a URL as it is).
std::string new_link_token();
// What account_tokens stores of a link token: its SHA-256, hex. A plain fast hash is enough (no salt,
// no argon2): the token is 256 random bits, so neither a dictionary nor brute force can find one from
// its hash, and the lookup by hash needs it to be deterministic. Slow salted hashes are for passwords,
// which people pick from a small space.
std::string link_token_hash(std::string_view token);

}  // namespace auth
