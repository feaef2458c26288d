#include "common/log_context.hpp"

namespace common {
namespace {
thread_local const LogContext* current = nullptr;
}

const LogContext* current_log_context() noexcept { return current; }

ScopedLogContext::ScopedLogContext(const LogContext& context) noexcept : previous_(current) { current = &context; }

ScopedLogContext::~ScopedLogContext() { current = previous_; }

}  // namespace common
