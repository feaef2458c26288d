#pragma once
// Standard Webhooks signatures (standardwebhooks.com): a secret is "whsec_" + base64 of random bytes; a
// message is signed with HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" keyed with the
// secret's decoded bytes, and the header carries "v1,<base64 signature>", several separated by spaces.
// libsodium does the HMAC, the base64 and the random bytes (it is linked already, for passwords).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace webhooks {

inline constexpr std::string_view kSecretPrefix = "whsec_";

// "whsec_" + base64 of 24 random bytes.
std::string new_secret();

// "v1,<base64 HMAC-SHA256>" of one message under `secret` (a whsec_ secret; throws std::invalid_argument
// when its base64 cannot be read).
std::string sign(std::string_view secret, std::string_view message_id, std::int64_t timestamp, std::string_view body);

// The webhook-signature header: the current secret's signature, then the previous secret's while it
// still signs (a rotation), space-separated.
std::string signature_header(std::string_view secret, const std::optional<std::string>& previous_secret,
                             std::string_view message_id, std::int64_t timestamp, std::string_view body);

}  // namespace webhooks
