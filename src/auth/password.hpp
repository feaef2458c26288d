#pragma once
// Password hashing with libsodium's argon2id. Hashing is expensive on purpose: it runs on the worker
// pool, and at most `max_concurrent` hashes run at once so a burst of logins cannot exhaust memory.

#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>

namespace auth {

// moderate and interactive are libsodium's; owasp is the OWASP Password Storage Cheat Sheet's
// 12 MiB, 3 passes (as hard to attack as its 19 MiB, 2 passes, for two thirds of the memory).
enum class PasswordCost { moderate, interactive, owasp, minimum };
PasswordCost parse_password_cost(std::string_view name);  // throws std::invalid_argument

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordCost cost, int max_concurrent = 2);

  // The encoded "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string.
  std::string hash(std::string_view password);
  // Constant-time verification against an encoded hash.
  bool verify(std::string_view password, const std::string& encoded);
  // Verifies against a fixed hash of the same cost: what a login for an unknown email does, so that
  // it takes as long as one for a known email.
  void spend_equal_time(std::string_view password);

 private:
  unsigned long long ops_;
  std::size_t memory_;
  std::unique_ptr<std::counting_semaphore<64>> slots_;
  std::once_flag dummy_once_;  // made on first use, so start-up stays fast
  std::string dummy_hash_;
};

}  // namespace auth
