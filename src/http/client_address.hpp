#pragma once
// Who the client is. Behind a reverse proxy every connection comes from the proxy's address, so
// throttles would lump every customer together. When, and only when, a connection comes from a
// trusted proxy (ServerOptions::trusted_proxies, the trusted_proxies setting) the client's address is
// taken from X-Forwarded-For: walking it from the right, the first address that is not itself a
// trusted proxy (each proxy appends the address it was connected from). From any other peer the
// header is ignored: a client cannot choose the address it is throttled and logged under.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace http {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // A comma-separated list of addresses and CIDR ranges, IPv4 or IPv6: "127.0.0.1, 10.0.0.0/8, ::1".
  // Empty trusts nobody. Throws std::invalid_argument naming the entry that is neither.
  static TrustedProxies parse(std::string_view list);

  bool empty() const noexcept { return ranges_.empty(); }
  bool contains(std::string_view address) const;
  // The client's address (in canonical form) for a connection from `peer` whose request carried
  // `forwarded_for` (the X-Forwarded-For values joined by commas; may be empty).
  std::string client_address(const std::string& peer, std::string_view forwarded_for) const;

 private:
  using Bytes = std::array<std::uint8_t, 16>;  // IPv4 as ::ffff:a.b.c.d, so either form of it matches
  struct Range {
    Bytes network;
    int prefix;  // leading bits that must match, 0 to 128
  };
  static std::optional<Bytes> to_bytes(std::string_view address);
  bool contains(const Bytes& address) const;

  std::vector<Range> ranges_;
};

}  // namespace http
