#include "webhooks/signing.hpp"

#include <sodium.h>

#include <stdexcept>
#include <vector>

namespace webhooks {
namespace {

constexpr std::size_t kSecretBytes = 24;
constexpr int kBase64 = sodium_base64_VARIANT_ORIGINAL;

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string base64(const unsigned char* bytes, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, kBase64), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, kBase64);
  out.resize(out.size() - 1);  // the terminating NUL sodium writes
  return out;
}

std::vector<unsigned char> secret_key(std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  std::vector<unsigned char> key(secret.size());
  std::size_t size = 0;
  if (sodium_base642bin(key.data(), key.size(), secret.data(), secret.size(), nullptr, &size, nullptr, kBase64) != 0 ||
      size == 0) {
    throw std::invalid_argument("the webhook secret is not base64");
  }
  key.resize(size);
  return key;
}

}  // namespace

std::string new_secret() {
  init_sodium();
  unsigned char bytes[kSecretBytes];
  randombytes_buf(bytes, sizeof bytes);
  return std::string(kSecretPrefix) + base64(bytes, sizeof bytes);
}

std::string sign(std::string_view secret, std::string_view message_id, std::int64_t timestamp, std::string_view body) {
  init_sodium();
  auto key = secret_key(secret);
  auto signed_text = std::string(message_id) + "." + std::to_string(timestamp) + ".";
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(key.data(), key.size());
  std::string signature("v1,");  // not "v1," + base64(...): GCC 12 warns of it (-Wrestrict)
  signature += base64(mac, sizeof mac);
  return signature;
}

std::string signature_header(std::string_view secret, const std::optional<std::string>& previous_secret,
                             std::string_view message_id, std::int64_t timestamp, std::string_view body) {
  auto header = sign(secret, message_id, timestamp, body);
  if (previous_secret) header.append(" ").append(sign(*previous_secret, message_id, timestamp, body));
  return header;
}

}  // namespace webhooks
