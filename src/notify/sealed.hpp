#pragma once
// Fields of an email's context that must not rest in the database in clear: the links of account
// emails, which carry a password-reset or email-verification token (issue #20: the token is stored
// only as a hash). They are sealed when the email is queued (XSalsa20-Poly1305, libsodium's
// secretbox, with a key derived from the server's secret) and kept in the context under kSealedKey;
// the worker opens them just before sending. Staff's preview never opens them: it shows kHiddenInPreview
// instead, so staff cannot take over an account from its email. A server with another secret cannot
// open them: such a row fails to render and is marked failed (the customer asks for a new link).

#include <boost/json/object.hpp>

#include <array>
#include <string>
#include <string_view>

namespace notify {

inline constexpr std::string_view kSealedKey = "sealed";
inline constexpr std::string_view kHiddenInPreview = "(the link is sent only to the recipient)";

class Sealer {
 public:
  explicit Sealer(std::string_view secret);

  // A random nonce and the ciphertext of the fields' JSON, base64.
  std::string seal(const boost::json::object& fields) const;
  // The fields again; throws std::runtime_error when the text was not sealed with this key.
  boost::json::object open(std::string_view sealed) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace notify
