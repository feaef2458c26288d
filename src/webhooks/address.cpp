#include "webhooks/address.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <memory>

namespace webhooks {
namespace {

using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

struct Range4 {
  std::uint32_t base;
  int bits;
};

// IANA's special-purpose IPv4 registry, less the few that are globally reachable.
constexpr std::array<Range4, 14> kNotPublic4 = {{
    {0x00000000, 8},    // "this network"
    {0x0A000000, 8},    // private
    {0x64400000, 10},   // carrier-grade NAT (also Alibaba's metadata address)
    {0x7F000000, 8},    // loopback
    {0xA9FE0000, 16},   // link-local: 169.254.169.254 is the cloud metadata service
    {0xAC100000, 12},   // private
    {0xC0000000, 24},   // IETF protocol assignments
    {0xC0000200, 24},   // documentation
    {0xC0A80000, 16},   // private
    {0xC6120000, 15},   // benchmarking
    {0xC6336400, 24},   // documentation
    {0xCB007100, 24},   // documentation
    {0xE0000000, 4},    // multicast
    {0xF0000000, 4},    // reserved, and the broadcast address
}};

bool is_public4(const address_v4& a) {
  auto value = a.to_uint();
  for (const auto& r : kNotPublic4) {
    auto mask = r.bits == 0 ? 0u : ~std::uint32_t{0} << (32 - r.bits);
    if ((value & mask) == r.base) return false;
  }
  return true;
}

// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or NAT64
// (64:ff9b::a.b.c.d) address: the kernel or a gateway reaches that IPv4 address.
std::optional<address_v4> embedded_v4(const address_v6::bytes_type& b) {
  bool zeros10 = std::all_of(b.begin(), b.begin() + 10, [](unsigned char x) { return x == 0; });
  bool mapped = zeros10 && b[10] == 0xff && b[11] == 0xff;
  bool compatible = zeros10 && b[10] == 0 && b[11] == 0;
  bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
               std::all_of(b.begin() + 4, b.begin() + 12, [](unsigned char x) { return x == 0; });
  if (!mapped && !compatible && !nat64) return std::nullopt;
  return address_v4(address_v4::bytes_type{b[12], b[13], b[14], b[15]});
}

// IPv6 is public only inside 2000::/3, the global unicast space (IANA's special-purpose IPv6 registry
// names everything outside it and a few blocks inside it), and for an address that embeds an IPv4
// one (mapped, compatible, NAT64, 6to4), only when that IPv4 address is public.
bool is_public6(const address_v6& a) {
  auto b = a.to_bytes();
  if (a.is_unspecified() || a.is_loopback()) return false;
  if (auto v4 = embedded_v4(b)) return is_public4(*v4);
  if (b[0] == 0x20 && b[1] == 0x02) {  // 2002::/16, 6to4: a relay reaches the IPv4 address in bytes 2-5
    return is_public4(address_v4(address_v4::bytes_type{b[2], b[3], b[4], b[5]}));
  }
  if ((b[0] & 0xe0) != 0x20) return false;  // outside 2000::/3: unique local, link-local, multicast,
                                            // discard-only 100::/64, SIIT, local-use NAT64 64:ff9b:1::/48
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0) return false;            // 2001::/23: Teredo, ORCHID
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32 documentation
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0) return false;            // 3fff::/20 documentation
  return true;
}

struct AddrinfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};

}  // namespace

std::optional<Target> parse_target(std::string_view url, std::string& problem) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    problem = "Enter a valid URL.";
    return std::nullopt;
  }
  auto scheme = std::string(parsed->scheme());
  if (scheme != "http" && scheme != "https") {
    problem = "The URL must start with http:// or https://.";
  } else if (parsed->host_address().empty()) {
    problem = "The URL must name a host.";
  } else if (parsed->has_userinfo() || parsed->has_fragment()) {
    problem = "The URL must not carry user information or a fragment.";
  } else if (parsed->has_port() && (parsed->port_number() == 0)) {
    problem = "The URL's port must be from 1 to 65535.";
  }
  if (!problem.empty()) return std::nullopt;
  auto port = parsed->has_port() ? std::string(parsed->port()) : (scheme == "https" ? "443" : "80");
  return Target{scheme, std::string(parsed->host_address()), port};
}

bool is_public_address(std::string_view text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return false;
  return a.is_v4() ? is_public4(a.to_v4()) : is_public6(a.to_v6());
}

bool is_public_address(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return is_public4(address_v4(ntohl(in->sin_addr.s_addr)));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    address_v6::bytes_type bytes;
    std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
    return is_public6(address_v6(bytes));
  }
  return false;
}

std::optional<std::string> refused_target(const Target& target, bool allow_private) {
  if (allow_private) return std::nullopt;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return "The URL's host cannot be resolved.";
  }
  std::unique_ptr<addrinfo, AddrinfoFree> owner(found);
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    if (!is_public_address(a->ai_addr)) {
      return "The URL's host is a loopback, private, link-local or otherwise non-public address.";
    }
  }
  return std::nullopt;
}

}  // namespace webhooks
