#pragma once
// Where a webhook may go (server-side request forgery): an http(s) URL whose host is a public address.
// Loopback, private, link-local (so the cloud metadata service at 169.254.169.254), carrier-grade NAT,
// unique-local IPv6 (fd00::/8), multicast, reserved and documentation ranges are refused, and an
// IPv4-mapped or NAT64 IPv6 address is judged by the IPv4 address inside it. Checked when staff save an
// endpoint (after resolving its name) and again for the very address each send connects to
// (webhooks/sender.cpp), so a name that later resolves elsewhere is caught too. The setting
// webhook_allow_private lifts the address rule (development and tests); the URL's form is always checked.

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace webhooks {

inline constexpr std::size_t kMaxUrlLength = 2048;

struct Target {
  std::string scheme;  // http or https
  std::string host;    // a name, or an address (IPv6 without brackets)
  std::string port;    // explicit or the scheme's
};

// The URL's scheme, host and port; nullopt with `problem` set when it is not an absolute http(s) URL
// with a host and without user information or fragment.
std::optional<Target> parse_target(std::string_view url, std::string& problem);

// Whether a numeric address (IPv4 or IPv6 text) is public; false for text that is not an address.
bool is_public_address(std::string_view address);
bool is_public_address(const sockaddr* address);

// Why sending to `target` is refused, after resolving its name; nullopt when every address it
// resolves to is public (or allow_private). A name that does not resolve is refused too.
std::optional<std::string> refused_target(const Target& target, bool allow_private);

}  // namespace webhooks
