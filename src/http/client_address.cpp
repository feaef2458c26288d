#include "http/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_mapped_v4(const std::array<std::uint8_t, 16>& b) {
  return std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; }) && b[10] == 0xff && b[11] == 0xff;
}

std::string to_text(const std::array<std::uint8_t, 16>& b) {
  char out[INET6_ADDRSTRLEN] = {};
  if (is_mapped_v4(b)) inet_ntop(AF_INET, b.data() + 12, out, sizeof out);
  else inet_ntop(AF_INET6, b.data(), out, sizeof out);
  return out;
}

}  // namespace

std::optional<TrustedProxies::Bytes> TrustedProxies::to_bytes(std::string_view address) {
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string text(address);  // inet_pton wants a terminated string
  Bytes b{};
  if (inet_pton(AF_INET6, text.c_str(), b.data()) == 1) return b;
  b[10] = b[11] = 0xff;
  if (inet_pton(AF_INET, text.c_str(), b.data() + 12) == 1) return b;
  return std::nullopt;
}

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies proxies;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (entry.empty()) continue;
    auto slash = entry.find('/');
    auto bytes = to_bytes(entry.substr(0, slash));
    if (!bytes) throw std::invalid_argument("not an address or CIDR range: " + std::string(entry));
    int max_prefix = is_mapped_v4(*bytes) ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string_view::npos) {
      auto bits = entry.substr(slash + 1);
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (ec != std::errc{} || end != bits.data() + bits.size() || prefix < 0 || prefix > max_prefix) {
        throw std::invalid_argument("not an address or CIDR range: " + std::string(entry));
      }
    }
    proxies.ranges_.push_back({*bytes, prefix + (max_prefix == 32 ? 96 : 0)});
  }
  return proxies;
}

bool TrustedProxies::contains(const Bytes& address) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& r) {
    int whole = r.prefix / 8, rest = r.prefix % 8;
    if (!std::equal(r.network.begin(), r.network.begin() + whole, address.begin())) return false;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (r.network[whole] & mask) == (address[whole] & mask);
  });
}

bool TrustedProxies::contains(std::string_view address) const {
  auto bytes = to_bytes(address);
  return bytes && contains(*bytes);
}

std::string TrustedProxies::client_address(const std::string& peer, std::string_view forwarded_for) const {
  auto hop = to_bytes(peer);
  if (!hop) return peer;
  // Walk the header from the right while each hop is a trusted proxy; a malformed entry ends the
  // walk at the proxy that wrote it.
  while (contains(*hop) && !forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    auto entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    auto next = to_bytes(entry);
    if (!next) break;
    hop = next;
  }
  return to_text(*hop);
}

}  // namespace http
