// The sample contexts of every kind of email: what start-up checks each template against, and what
// `orderd email preview KIND` renders. They follow docs/contract.md's "Emails" field by field; a
// field added to a kind's context must be added here too, or templates using it are refused.

#include "notify/low_stock.hpp"
#include "notify/outbox.hpp"
#include "notify/sealed.hpp"
#include "notify/templates.hpp"

#include <boost/json/array.hpp>

namespace notify {
namespace {

// The confirmation's fields plus a kind's own.
boost::json::object with(boost::json::object base, const boost::json::object& fields) {
  for (const auto& field : fields) base[field.key()] = field.value();
  return base;
}

boost::json::object shipped_sample() {
  return with(Templates::sample_context(),
              boost::json::object{{"fulfilment_id", 7},
               {"carrier", "DHL"},
               {"tracking_number", "JD014600006281"},
               {"tracking_url", "https://www.dhl.com/track?id=JD014600006281"},
               {"shipped_at", "2024-05-05T09:30:00.000000Z"},
               {"shipped_items", boost::json::array{boost::json::object{{"product", "Product A"}, {"quantity", 2}}}}});
}

boost::json::object refund_sample() {
  return with(Templates::sample_context(), boost::json::object{{"refund_id", 3},
                                            {"amount", "30.00"},
                                            {"reason", "Product B arrived broken"},
                                            {"refunded_at", "2024-05-07T16:45:00.000000Z"},
                                            {"refunded_total", "30.00"}});
}

boost::json::object cancelled_sample(std::string_view by, std::string_view refund) {
  return with(Templates::sample_context(), boost::json::object{{"cancelled_by", by},
                                            {"refund_amount", refund},
                                            {"cancelled_at", "2024-05-04T12:10:00.000000Z"}});
}

// An account email's context (docs/contract.md, "Account emails"): no order. Its link carries a token,
// so it is sealed in the outbox and previews show kHiddenInPreview in its place; the sample does the
// same, so no preview ever shows a link that looks usable.
boost::json::object account_sample(std::string_view link_field, std::string_view valid_for) {
  return {{"username", "example_user"},
          {"email", "customer@example.com"},
          {"shop_name", "Sample & Co"},
          {"expires_at", "2024-05-04T13:00:00.123456Z"},
          {"valid_for", valid_for},
          {link_field, kHiddenInPreview}};
}

// A low-stock alert to a staff member (docs/contract.md, "Emails"): about a product, not an order.
boost::json::object low_stock_sample() {
  LowStockAlert alert{.product_id = 42, .product = "Product A", .price = "50.00", .stock = 3, .threshold = 5,
                      .crossed_at = 1714824600000000};  // 2024-05-04T12:10:00Z
  auto context = low_stock_context(alert, {.username = "example_user", .email = "staff@example.com"});
  context["shop_name"] = "Sample & Co";
  return context;
}

}  // namespace

boost::json::object Templates::sample_context() {
  return {{"order_id", 42},
          {"created_at", "2024-05-04T12:00:00.123456Z"},
          {"customer", "example_user"},
          {"email", "customer@example.com"},
          {"total_amount", "130.00"},
          {"shop_name", "Sample & Co"},
          {"items",
           boost::json::array{
               boost::json::object{{"product", "Product A"}, {"price", "50.00"}, {"quantity", 2}, {"totalprice", "100.00"}},
               boost::json::object{{"product", "Product B"}, {"price", "30.00"}, {"quantity", 1}, {"totalprice", "30.00"}},
           }}};
}

std::vector<SampleContext> Templates::sample_contexts(std::string_view kind) {
  if (kind == kOrderConfirmation) return {{"default", sample_context()}};
  if (kind == kOrderShipped) return {{"default", shipped_sample()}};
  if (kind == kRefundIssued) return {{"default", refund_sample()}};
  if (kind == kOrderCancelled) {
    // The four wordings: a customer's own cancel, staff's cancel of an unpaid order, staff's cancel
    // of a paid order with its refund, and of a paid order that earlier refunds gave back in full.
    return {{"customer", cancelled_sample("customer", "")},
            {"staff", cancelled_sample("staff", "")},
            {"refunded", cancelled_sample("staff", "130.00")},
            {"refunded_earlier", cancelled_sample("staff", "0.00")}};
  }
  if (kind == kOrderExpired) {
    return {{"default", with(sample_context(), boost::json::object{{"expired_at", "2024-05-04T12:15:00.000000Z"}})}};
  }
  if (kind == kPasswordReset) return {{"default", account_sample("reset_url", "1 hour")}};
  if (kind == kEmailVerification) return {{"default", account_sample("verification_url", "3 days")}};
  if (kind == kLowStock) return {{"default", low_stock_sample()}};
  return {};
}

}  // namespace notify
