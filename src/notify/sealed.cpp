#include "notify/sealed.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>

#include <stdexcept>
#include <vector>

namespace notify {
namespace {

// The key is a hash of the secret under a label of its own, so it is not the JWT key itself.
constexpr std::string_view kLabel = "orderd outbox sealed fields v1";

constexpr auto kVariant = sodium_base64_VARIANT_ORIGINAL;

}  // namespace

Sealer::Sealer(std::string_view secret) {
  static_assert(sizeof key_ == crypto_secretbox_KEYBYTES);
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  std::string input(kLabel);
  input += '\0';
  input += secret;
  crypto_generichash(key_.data(), key_.size(), reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     nullptr, 0);
}

std::string Sealer::seal(const boost::json::object& fields) const {
  auto plain = boost::json::serialize(fields);
  std::vector<unsigned char> box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(box.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box.data() + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plain.data()),
                        plain.size(), box.data(), key_.data());
  std::string text(sodium_base64_ENCODED_LEN(box.size(), kVariant), '\0');
  sodium_bin2base64(text.data(), text.size(), box.data(), box.size(), kVariant);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

boost::json::object Sealer::open(std::string_view sealed) const {
  std::vector<unsigned char> box(sealed.size() + 1);  // never empty: libsodium wants a buffer
  std::size_t length = 0;
  constexpr auto kOverhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (sodium_base642bin(box.data(), box.size(), sealed.data(), sealed.size(), nullptr, &length, nullptr, kVariant) ||
      length < kOverhead) {
    throw std::runtime_error("sealed fields are not base64 of a sealed box");
  }
  std::string plain(length - kOverhead, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  if (crypto_secretbox_open_easy(out, box.data() + crypto_secretbox_NONCEBYTES, length - crypto_secretbox_NONCEBYTES,
                                 box.data(), key_.data()) != 0) {
    throw std::runtime_error("sealed fields cannot be opened with this server's secret (was jwt_secret changed?)");
  }
  return boost::json::parse(plain).as_object();
}

}  // namespace notify
