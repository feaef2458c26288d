#pragma once
// The kinds of webhook event (docs/webhooks.md lists each one's payload) and the statuses of a delivery.
// The one list: staff's `events` are checked against it, the console offers it, the docs name it.

#include <algorithm>
#include <array>
#include <string_view>

namespace webhooks {

inline constexpr std::string_view kOrderPlaced = "order.placed", kOrderPaid = "order.paid",
                                  kOrderCancelled = "order.cancelled", kOrderExpired = "order.expired",
                                  kOrderFulfilled = "order.fulfilled", kOrderDelivered = "order.delivered",
                                  kOrderRefunded = "order.refunded", kOrderReturned = "order.returned",
                                  kPaymentFailed = "payment.failed", kProductLowStock = "product.low_stock";
inline constexpr std::array<std::string_view, 10> kEventTypes = {
    kOrderPlaced,    kOrderPaid,     kOrderCancelled, kOrderExpired,  kOrderFulfilled,
    kOrderDelivered, kOrderRefunded, kOrderReturned,  kPaymentFailed, kProductLowStock};
// Sent by POST /admin/webhooks/{id}/test/ to that endpoint only, whatever it subscribes to.
inline constexpr std::string_view kTestEvent = "webhook.test";

inline bool is_event_type(std::string_view type) {
  return std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end();
}

// pending -> sending (claimed) -> succeeded, or back to pending (a retry), or failed (the schedule ran
// out, or the endpoint is disabled); staff redeliver a finished one (pending again). The CHECK of
// migration 012 lists the same.
inline constexpr std::array<std::string_view, 4> kDeliveryStatuses = {"pending", "sending", "succeeded", "failed"};

}  // namespace webhooks
