#include "auth/password.hpp"

#include <sodium.h>

#include <algorithm>

#include <stdexcept>

namespace auth {

PasswordCost parse_password_cost(std::string_view name) {
  if (name == "moderate") return PasswordCost::moderate;
  if (name == "interactive") return PasswordCost::interactive;
  if (name == "owasp") return PasswordCost::owasp;
  if (name == "minimum") return PasswordCost::minimum;
  throw std::invalid_argument("unknown password cost");
}

PasswordHasher::PasswordHasher(PasswordCost cost, int max_concurrent)
    : slots_(std::make_unique<std::counting_semaphore<64>>(std::clamp(max_concurrent, 1, 64))) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  switch (cost) {
    case PasswordCost::moderate:
      ops_ = crypto_pwhash_OPSLIMIT_MODERATE;
      memory_ = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    case PasswordCost::interactive:
      ops_ = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      memory_ = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      break;
    case PasswordCost::owasp:
      ops_ = 3;
      memory_ = std::size_t{12} << 20;
      break;
    case PasswordCost::minimum:
      ops_ = crypto_pwhash_OPSLIMIT_MIN;
      memory_ = crypto_pwhash_MEMLIMIT_MIN;
      break;
  }
}

std::string PasswordHasher::hash(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  slots_->acquire();
  int rc = crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, memory_, crypto_pwhash_ALG_ARGON2ID13);
  slots_->release();
  if (rc != 0) throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool PasswordHasher::verify(std::string_view password, const std::string& encoded) {
  slots_->acquire();
  int rc = crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size());
  slots_->release();
  return rc == 0;
}

void PasswordHasher::spend_equal_time(std::string_view password) {
  std::call_once(dummy_once_, [this] { dummy_hash_ = hash("orderd: a password nobody has"); });
  (void)verify(password, dummy_hash_);
}

}  // namespace auth
