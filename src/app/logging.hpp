#pragma once
#include <string>

namespace app {
// Sets up the process logger on stderr: level and "text" or "json" lines, timestamps in UTC.
void init_logging(const std::string& level, const std::string& format);
}  // namespace app
