// The JWT verifier (auth/tokens.cpp on libjwt): TokenSigner::verify_access and verify_refresh on
// fuzzed tokens. The first byte picks how the rest becomes a token:
//   0: the bytes are the token as a client sends it;
//   1: the bytes are "HEADER\0PAYLOAD" JSON, encoded and signed with the server's secret (libsodium's
//      base64url and HMAC-SHA256), so the fuzzer reaches the checks after the signature;
//   2: the same, signed with another secret: a forgery, which must never verify.
// Invariants: only common::Error token_invalid / token_expired is ever thrown; a forgery or an
// unsigned token never verifies; a token is never both an access and a refresh token; what verifies
// has a positive subject (and a known role for access tokens, a jti and family for refresh tokens).

#include "auth/tokens.hpp"
#include "common/error.hpp"
#include "fuzz.hpp"

#include <sodium.h>

#include <string>

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSecret = "fuzz-secret-0123456789abcdef0123456789abcdef";

std::string base64url(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

std::string signed_token(std::string_view header, std::string_view payload, const std::string& secret) {
  std::string input = base64url(header) + "." + base64url(payload);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return input + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

template <class F>
bool verifies(F&& verify) {
  try {
    verify();
    return true;
  } catch (const common::Error& e) {
    std::string_view code = e.code();
    FUZZ_CHECK(code == "token_invalid" || code == "token_expired");
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auth::TokenSigner signer(kSecret, std::chrono::seconds(300), std::chrono::seconds(86400));
  if (size < 1) return 0;
  int mode = data[0] % 3;
  auto rest = fuzz::as_text(data + 1, size - 1);

  std::string token;
  std::string_view header, payload;
  if (mode == 0) {
    token = std::string(rest);
  } else {
    auto split = rest.find('\0');
    header = rest.substr(0, split);
    payload = split == std::string_view::npos ? std::string_view{} : rest.substr(split + 1);
    token = signed_token(header, payload, mode == 1 ? kSecret : std::string("another-secret"));
  }

  auth::AccessClaims access;
  bool access_ok = verifies([&] { access = signer.verify_access(token, kNow); });
  auth::RefreshClaims refresh;
  bool refresh_ok = verifies([&] { refresh = signer.verify_refresh(token, kNow); });

  FUZZ_CHECK(!(access_ok && refresh_ok));  // one "typ" or the other
  if (mode == 2) FUZZ_CHECK(!access_ok && !refresh_ok);
  if (access_ok) {
    FUZZ_CHECK(access.user_id > 0);
    FUZZ_CHECK(access.role == auth::Role::customer || access.role == auth::Role::staff);
  }
  if (refresh_ok) FUZZ_CHECK(refresh.user_id > 0 && !refresh.jti.empty() && !refresh.family.empty());
  // "alg": "none" or any other unsigned token: nothing after the last dot.
  if (mode == 0 && (token.empty() || token.back() == '.')) FUZZ_CHECK(!access_ok && !refresh_ok);
  // A token the verifier accepts, re-signed with another secret, is refused.
  if (mode == 1 && (access_ok || refresh_ok)) {
    auto forged = signed_token(header, payload, "another-secret");
    FUZZ_CHECK(!verifies([&] { signer.verify_access(forged, kNow); }));
    FUZZ_CHECK(!verifies([&] { signer.verify_refresh(forged, kNow); }));
  }
  return 0;
}
