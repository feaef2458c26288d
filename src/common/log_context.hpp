#pragma once
// The request a thread is working for, so that every log line written on its behalf (by a handler,
// a service, the access log) can carry its request id, user and route without passing them down.
// Set for the span of one request on the thread that runs it; the JSON log format adds the fields.

#include <cstdint>
#include <string_view>

namespace common {

struct LogContext {
  std::string_view request_id;
  std::string_view route;  // the route pattern, "/store/orders/{id}/"
  std::int64_t user_id = 0;  // 0 until authenticated
};

// The current thread's context, or nullptr outside a request.
const LogContext* current_log_context() noexcept;

class ScopedLogContext {
 public:
  // Points at `context`, which must outlive this object (a temporary would not).
  explicit ScopedLogContext(const LogContext& context) noexcept;
  explicit ScopedLogContext(LogContext&&) = delete;
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  const LogContext* previous_;
};

}  // namespace common
