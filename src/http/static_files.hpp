#pragma once
// Files compiled into the binary and served as they are: the /docs page and the staff console.

#include "http/message.hpp"

#include <span>
#include <string>
#include <string_view>

namespace http {

struct StaticAsset {
  std::string_view name;  // with a hash of the content: "console.3f2a1b4c5d6e.js"
  std::string_view content_type;
  std::string_view body;
};

// A response carrying `body` with its Cache-Control, and nosniff so browsers trust the type given.
Response static_response(std::string_view content_type, std::string body, std::string_view cache_control);

// A page of orderd's own (the staff console, /docs) as static_response() makes it, with the
// headers both share: a Content-Security-Policy that lets the page load only its own files and talk
// only to its own origin, and no framing by another site (frame-ancestors 'none', X-Frame-Options).
Response own_page(std::string html, std::string_view cache_control);

// The asset called `name`, cached for a year (its name changes with its content, so a cached copy
// is never stale); under its plain name ("console.css", for a script or a check that cannot know the
// hash) the same file, revalidated each time; 404 not_found for any other name.
Response hashed_asset(std::span<const StaticAsset> assets, std::string_view name);

}  // namespace http
