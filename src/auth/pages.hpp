#pragma once
// The two small pages a customer reaches from an account email, so that a shop without its own front
// end works: /account/reset-password (type a new password) and /account/verify-email (confirm the
// address), and their one script. Plain files from web/account compiled in
// (cmake/embed_account_pages.cmake), served with the console's Content-Security-Policy: nothing is
// loaded from another site, and the script talks only to this origin's API.

#include "http/router.hpp"

#include <string_view>

namespace auth {

// GET /account/reset-password, /account/verify-email, /account/account.js (registered by
// auth::register_routes).
void register_page_routes(http::Router& router);

// The embedded file of that name (generated), or empty when there is none.
std::string_view account_page_file(std::string_view file_name);

}  // namespace auth
