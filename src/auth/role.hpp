#pragma once
// Who an account is: staff (the console, the staff API) or a customer. Spelled "staff" and
// "customer" in JSON bodies, JWT claims, the command line and the users table; each of those edges
// parses the text once with parse_role, and the code behind them compares Role values only.

#include <optional>
#include <string_view>

namespace auth {

enum class Role { customer, staff };

constexpr std::string_view to_string(Role role) noexcept { return role == Role::staff ? "staff" : "customer"; }

// nullopt for anything but the two spellings (exact, lower-case).
constexpr std::optional<Role> parse_role(std::string_view text) noexcept {
  if (text == "staff") return Role::staff;
  if (text == "customer") return Role::customer;
  return std::nullopt;
}

}  // namespace auth
