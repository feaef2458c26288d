#pragma once
// Time as the service stores it (integer microseconds since the Unix epoch, UTC) and writes it
// (RFC 3339 with a Z: 2024-05-04T12:00:00.123456Z).

#include <cstdint>
#include <string>

namespace common {

std::int64_t now_micros();
std::string format_rfc3339(std::int64_t micros);

}  // namespace common
