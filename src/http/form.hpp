#pragma once
// HTML form bodies, as Django REST Framework's default parsers took them on the old service's routes
// (FormParser, MultiPartParser): `application/x-www-form-urlencoded` (curl -d, an HTML form) and
// `multipart/form-data` (Postman's form-data, DRF's browsable API). A form becomes the JSON object
// the route's handler reads, every value a string; the fields then read strings as DRF's did ("2" is
// the integer 2, "130.00" an amount). Routes opt in with RouteBuilder::form().

#include <boost/json/object.hpp>

#include <string_view>

namespace http {

// Whether a Content-Type names one of the two form types (parameters and case aside).
bool is_form_content_type(std::string_view content_type);

// The fields of a form body of `content_type` (one of the two form types) as a JSON object of strings;
// of a repeated name the last value counts, as Django's QueryDict gave it. Throws common::Error: 400
// bad_request for a body that is not of its type (a multipart body without its boundary or its end),
// 400 validation_error for a value that is not UTF-8 text, holds a NUL, or is a file.
boost::json::object parse_form(std::string_view content_type, std::string_view body);

}  // namespace http
