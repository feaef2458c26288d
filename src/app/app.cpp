#include "app/app.hpp"

#include "admin/routes.hpp"
#include "app/build_commit.hpp"
#include "app/logging.hpp"
#include "app/progress.hpp"
#include "auth/password.hpp"
#include "auth/routes.hpp"
#include "auth/service.hpp"
#include "auth/tokens.hpp"
#include "catalog/import.hpp"
#include "catalog/routes.hpp"
#include "catalog/service.hpp"
#include "common/error.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/background.hpp"
#include "common/periodic.hpp"
#include "common/time_zone.hpp"
#include "console/routes.hpp"
#include "db/backup.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "docs/routes.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "idempotency/store.hpp"
#include "notify/account_emails.hpp"
#include "notify/low_stock.hpp"
#include "notify/mailer.hpp"
#include "notify/outbox.hpp"
#include "notify/sealed.hpp"
#include "notify/service.hpp"
#include "notify/templates.hpp"
#include "notify/worker.hpp"
#include "ops/routes.hpp"
#include "orders/routes.hpp"
#include "orders/service.hpp"
#include "orders/shipping.hpp"
#include "payments/gateway.hpp"
#include "payments/mock_gateway.hpp"
#include "payments/routes.hpp"
#include "payments/service.hpp"
#include "payments/mock_server.hpp"
#include "payments/refunds.hpp"
#include "webhooks/events.hpp"
#include "webhooks/service.hpp"
#include "webhooks/worker.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace app {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// How often a serving node asks whether a newer orderd has migrated its database (Wiring::watch_schema).
constexpr std::chrono::milliseconds kSchemaWatchInterval{2000};

int io_threads(const Config& config) {
  return config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::unique_ptr<db::Database> open_database(const Config& config) {
  db::Options options;
  options.pool_size = static_cast<std::size_t>(config.database_pool);
  options.inline_readers = static_cast<std::size_t>(io_threads(config));
  auto database = db::open(config.database_url, options);
  int applied = db::migrate(*database);
  if (applied > 0) spdlog::info("database migrated ({} migrations applied)", applied);
  // An older binary on a newer schema (a node left behind, or a rollback after `migrate`) charged
  // payments it could not record and sent webhooks twice in an audit (docs/scaling.md, "Upgrading"):
  // it does not start. `migrate` alone still runs, to say where the database stands.
  if (auto newer = db::newer_schema(*database)) throw std::runtime_error(*newer);
  return database;
}

// Whether an http:// gateway URL (checked by the configuration) names this machine: anything else
// carries card numbers over a network in clear text (orderd's gateway client has no TLS;
// docs/security.md, "Out of scope").
bool gateway_on_loopback(const std::string& url) {
  auto host = payments::parse_gateway_url(url).host;
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

std::string jwt_secret(const Config& config) {
  if (!config.jwt_secret.empty()) return config.jwt_secret;
  spdlog::warn("no jwt_secret configured: using a random one for this process (development only); "
               "tokens will not survive a restart");
  return auth::random_id() + auth::random_id();
}

// An account email's link: the setting, or orderd's own page; {public_url} is the configured one, or
// the listening address. Never the request's Host header: a link built from it would send the token
// wherever an attacker's request said (the password-reset poisoning of many frameworks).
std::string account_link(const Config& config, const std::string& setting, std::string_view page) {
  auto link = setting.empty() ? "{public_url}/account/" + std::string(page) + "?token={token}" : setting;
  auto base = config.public_url.empty() ? "http://" + config.listen : config.public_url;
  while (base.ends_with('/')) base.pop_back();
  constexpr std::string_view kSlot = "{public_url}";
  for (auto at = link.find(kSlot); at != std::string::npos; at = link.find(kSlot, at + base.size())) {
    link.replace(at, kSlot.size(), base);
  }
  return link;
}

auth::Service::Settings account_settings(const Config& config) {
  return {.rotate_refresh = config.refresh_rotation == "on",
          .registrations_per_address = config.registrations_per_hour,
          .password_reset_url = account_link(config, config.password_reset_url, "reset-password"),
          .email_verification_url = account_link(config, config.email_verification_url, "verify-email"),
          .password_reset_ttl = duration_cast<seconds>(config.password_reset_ttl),
          .verification_email_on_register = config.verification_email == "on"};
}

// The accounts module and what it is made of, built the same way for serve and the CLI.
struct Accounts {
  explicit Accounts(const Config& config, db::Database& database, std::string secret)
      : hasher(auth::parse_password_cost(config.password_cost), config.password_threads),
        signer(std::move(secret), duration_cast<seconds>(config.access_ttl), duration_cast<seconds>(config.refresh_ttl)),
        service(database, hasher, signer, account_settings(config)) {}
  auth::PasswordHasher hasher;
  auth::TokenSigner signer;
  auth::Service service;
};

notify::SmtpTimeouts smtp_timeouts(const Config& config) {
  return {.connect = std::min<std::chrono::milliseconds>(config.smtp_timeout, std::chrono::seconds(10)),
          .total = config.smtp_timeout};
}

// Confirmation emails: checked templates, the mailer the configuration names, and the outbox worker.
// Templates load first, so a broken one stops start-up with a message naming its file.
struct Emails {
  Emails(const Config& config, db::Database& database, common::Metrics& metrics)
      : templates(notify::Templates::load(config.template_dir, config.shop_name, config.shop_currency())),
        mailer(notify::make_mailer(config.smtp_url, config.mail_dir, smtp_timeouts(config))),
        worker(database, templates, *mailer, metrics,
               {.mail_from = config.mail_from,
                .max_attempts = config.mail_max_attempts,
                .retry_cap = config.mail_retry_cap,
                .send_timeout = 2 * config.smtp_timeout}) {  // see SmtpTimeouts::total
    spdlog::info("email: {} (templates: {}; money in {})", mailer->describe(), templates.describe(),
                 templates.currency().code);
  }
  notify::Templates templates;
  std::unique_ptr<notify::Mailer> mailer;
  notify::OutboxWorker worker;  // stops (and joins) when Emails goes out of scope
};

// The confirmation template's context (the contract's "Confirmation email"): money as the API writes it.
boost::json::object confirmation_context(const orders::Order& order) {
  return {{"order_id", order.id},
          {"created_at", common::format_rfc3339(order.created_at)},
          {"customer", order.customer},
          {"email", order.email},
          {"total_amount", order.total_amount.to_string()},
          {"items", orders::items_json(order.items, orders::ItemIds::without)}};
}

// The email of an unpaid order that ended (docs/contract.md, "Emails"): order_cancelled with who
// cancelled it (nothing was paid, so nothing refunded), or order_expired.
std::pair<std::string_view, boost::json::object> ended_email(const orders::Order& order, orders::EndedBy by) {
  auto context = confirmation_context(order);
  auto now = common::format_rfc3339(common::now_micros());
  if (by == orders::EndedBy::sweeper) {
    context["expired_at"] = now;
    return {notify::kOrderExpired, context};
  }
  context["cancelled_by"] = by == orders::EndedBy::customer ? "customer" : "staff";
  context["refund_amount"] = "";
  context["cancelled_at"] = now;
  return {notify::kOrderCancelled, context};
}

// refund_issued's context (docs/contract.md, "Emails"): the confirmation's fields and the refund's.
boost::json::object refund_context(const orders::Order& order, const payments::Refund& refund,
                                   common::Money refunded_total) {
  auto context = confirmation_context(order);
  context["refund_id"] = refund.id;
  context["amount"] = refund.amount.to_string();
  context["reason"] = refund.reason;
  context["refunded_at"] = common::format_rfc3339(refund.updated_at);
  context["refunded_total"] = refunded_total.to_string();
  return context;
}

// order_shipped's context: the confirmation's plus the shipment's tracking and units.
boost::json::object shipped_context(const orders::Order& order, const orders::Fulfilment& fulfilment) {
  auto context = confirmation_context(order);
  context["fulfilment_id"] = fulfilment.id;
  context["carrier"] = fulfilment.carrier;
  context["tracking_number"] = fulfilment.tracking_number;
  context["tracking_url"] = fulfilment.tracking_url;
  context["shipped_at"] = common::format_rfc3339(fulfilment.shipped_at);
  boost::json::array items;
  for (const auto& item : fulfilment.items) items.push_back({{"product", item.product}, {"quantity", item.quantity}});
  context["shipped_items"] = std::move(items);
  return context;
}

// order_cancelled's context for staff's cancel of a paid order; refund_amount is "" when nothing was paid.
boost::json::object staff_cancel_context(const orders::Order& order, common::Money refund_amount) {
  auto context = confirmation_context(order);
  context["cancelled_by"] = "staff";
  context["refund_amount"] = refund_amount.to_string();
  context["cancelled_at"] = common::format_rfc3339(common::now_micros());
  return context;
}

webhooks::WorkerOptions webhook_options(const Config& config) {
  return {.schedule = parse_duration_list(config.webhook_retry_schedule),
          .allow_private = config.webhook_allow_private == "true",
          .timeout = config.webhook_timeout,
          .disable_after = config.webhook_disable_after,
          .keep = config.webhook_keep};
}

http::ServerOptions server_options(const Config& config) {
  http::ServerOptions o;
  o.host = config.listen_host();
  o.port = static_cast<std::uint16_t>(config.listen_port());
  o.public_url = config.public_url;
  o.io_threads = io_threads(config);
  o.handler_threads = config.workers;  // the key's name predates "handler pool"
  o.slow_lane_threads = config.password_threads;
  o.slow_lane_queue = config.password_queue;
  o.trusted_proxies = http::TrustedProxies::parse(config.trusted_proxies);
  o.cors = http::CorsPolicy::parse(config.cors_origins);
  o.header_timeout = config.header_timeout;
  o.read_timeout = config.read_timeout;
  o.idle_timeout = config.idle_timeout;
  o.shutdown_timeout = config.shutdown_timeout;
  return o;
}

std::string read_line_without_echo(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return line;
}

std::string read_password() {
  if (isatty(STDIN_FILENO)) {
    auto first = read_line_without_echo("Password: ");
    if (read_line_without_echo("Password (again): ") != first) throw std::runtime_error("the passwords differ");
    return first;
  }
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

enum class ValidationErrors { are_failures, are_usage };

// Runs a CLI command, turning domain errors into a readable message and exit code 1, or 2 for a
// validation_error of a command whose validation is all of its command line (README, "Command
// line": a bad value there is 2).
int report(const std::function<int()>& command, ValidationErrors validation = ValidationErrors::are_failures) {
  try {
    return command();
  } catch (const common::Error& e) {
    std::cerr << "orderd: " << e.what();
    if (!e.details().empty()) std::cerr << " " << boost::json::serialize(e.details());
    std::cerr << "\n";
    return validation == ValidationErrors::are_usage && e.code() == "validation_error" ? 2 : 1;
  }
}

void print_summary(const catalog::ImportSummary& s) {
  std::cout << s.created << " created, " << s.updated << " updated, " << s.unchanged << " unchanged\n";
}

// What serve runs and `orderd routes` lists: the modules, wired in one visible list. Members are built
// in this order and destroyed in reverse, so the background tasks and the outbox worker stop before the
// services they use go.
struct Wiring {
  explicit Wiring(const Config& config);
  Wiring(const Wiring&) = delete;
  Wiring& operator=(const Wiring&) = delete;

  void register_routes();
  void queue_confirmation(db::Connection& c, const orders::Order& order, const std::vector<payments::Attempt>* attempts);
  void queue_account_email(db::Connection& c, auth::AccountEmail kind, const std::string& recipient,
                           boost::json::object context, const boost::json::object& sealed);
  void queue_ended(db::Connection& c, const orders::Order& order, orders::EndedBy by);
  void queue_refund_issued(db::Connection& c, const orders::Order& order, const payments::Refund& refund,
                           common::Money refunded_total);
  void queue_cancelled_by_staff(db::Connection& c, const orders::Order& order, common::Money refund_amount);
  void queue_low_stock(db::Connection& c, const catalog::LowStock& low);
  void publish_order(db::Connection& c, std::string_view type, const orders::Order& order,
                     const std::vector<payments::Attempt>* attempts = nullptr);
  void publish_webhooks();
  void reconcile(std::int64_t now);
  orders::ShippingHooks shipping_hooks();
  void sweep(std::int64_t now);
  void watch_schema();
  int print_routes() const;
  int serve(std::chrono::steady_clock::time_point started);

  const Config& config;
  common::TimeZone shop_zone;  // shop_timezone: the dashboard's days and the exports' from/to
  std::unique_ptr<db::Database> database;
  common::Metrics metrics;
  std::string secret;                            // signs tokens; also seals account emails' links
  std::shared_ptr<const notify::Sealer> sealer;  // (notify/sealed.hpp)
  Accounts accounts;
  Emails email;
  webhooks::Worker webhook_sender;  // sends webhook deliveries (stops before the database goes)
  webhooks::Service webhooks;       // publishes events; what staff do with endpoints and deliveries
  catalog::Service catalog;
  idempotency::Store keys;
  orders::Service orders;
  std::unique_ptr<payments::Gateway> gateway;
  payments::Service payments;
  payments::Refunds refunds;
  orders::Shipping shipping;    // fulfilments, deliveries and returns of paid orders
  notify::Service outbox;       // what staff do with the email outbox
  common::Periodic sweeper;     // every sweep_interval: sweep()
  common::Periodic reconciler;  // settles payments and refunds whose outcome was lost (a crash, a timeout)
  common::Background after_answer;  // work a request hands off to be done after its answer (password resets)
  http::Router router;
  // While serving: whether a newer orderd has migrated the database since this node started, and the
  // server to stop when it has (watch_schema). Last, so it stops before anything it stops.
  std::atomic<http::Server*> serving{nullptr};
  std::atomic<bool> outdated{false};
  common::Periodic schema_watch;
};

Wiring::Wiring(const Config& config)
    : config(config),
      shop_zone(common::TimeZone::load(config.shop_timezone)),
      database(open_database(config)),
      secret(jwt_secret(config)),
      sealer(std::make_shared<notify::Sealer>(secret)),
      accounts(config, *database, secret),
      email(config, *database, metrics),
      webhook_sender(*database, metrics, webhook_options(config)),
      webhooks(*database, webhook_sender,
               {.allow_private = config.webhook_allow_private == "true", .rotation_overlap = std::chrono::hours(24)}),
      catalog(*database, config.shop_currency(), catalog::StockWatch(config.low_stock_threshold)),
      keys(*database, {.lease = config.idempotency_lease}),
      orders(*database, metrics,
             {.reservation_ttl = duration_cast<std::chrono::microseconds>(config.reservation_ttl),
              .may_order = config.require_verified_email == "true" ? auth::Service::require_verified_email
                                                                   : orders::Service::MayOrder{},
              .stock_watch = &catalog.stock_watch()}),
      gateway(payments::make_gateway(config.payment_gateway, config.gateway_timeout, &metrics)),
      payments(*database, orders, *gateway, metrics,
               {.reconcile_after = 2 * config.gateway_timeout, .currency = config.shop_currency()},
               [this](db::Connection& c, const orders::Order& order, const std::vector<payments::Attempt>* attempts) {
                 queue_confirmation(c, order, attempts);
               }),
      refunds(
          *database, orders, *gateway, metrics,
          {.reconcile_after = 2 * config.gateway_timeout, .currency = config.shop_currency()},
          [this](db::Connection& c, const orders::Order& order, const payments::Refund& refund, common::Money total) {
            queue_refund_issued(c, order, refund, total);
          },
          [this](db::Connection& c, const orders::Order& order, common::Money refund_amount) {
            queue_cancelled_by_staff(c, order, refund_amount);
          }),
      shipping(*database, orders, metrics, shipping_hooks()),
      outbox(*database, email.worker, email.templates),
      sweeper("reservation sweeper", config.sweep_interval, [this] { sweep(common::now_micros()); }),
      reconciler("payment reconciler", config.gateway_timeout, [this] { reconcile(common::now_micros()); }),
      after_answer("after answer", 1000),
      schema_watch("schema watch", kSchemaWatchInterval, [this] { watch_schema(); }) {
  orders.on_ended([this](db::Connection& c, const orders::Order& order, orders::EndedBy by) {
    queue_ended(c, order, by);
  });
  catalog.stock_watch().listen([this](db::Connection& c, const catalog::LowStock& low) { queue_low_stock(c, low); });
  email.templates.set_sealer(sealer);
  accounts.service.set_email_queue([this](db::Connection& c, auth::AccountEmail kind, const std::string& recipient,
                                          boost::json::object context, const boost::json::object& sealed) {
    queue_account_email(c, kind, recipient, std::move(context), sealed);
  });
  publish_webhooks();
  register_routes();
}

void Wiring::register_routes() {
  ops::register_routes(router, *database, metrics,
                       {.token = config.metrics_token, .loopback_only = config.production()});
  docs::register_routes(router);
  router.set_authenticator(auth::authenticator(accounts.service));
  auth::register_routes(router, accounts.service);
  catalog::register_routes(router, catalog);
  orders::register_routes(router, orders, keys);
  payments::register_routes(router, payments, keys);
  admin::register_routes(router, accounts.service, orders, payments, catalog, outbox, refunds, shipping, keys,
                         shop_zone, webhooks);
  console::register_routes(router);
}

// The confirmation email is queued in the same transaction that marks the order paid. Waking the
// worker from inside it is safe: on SQLite its claim waits for this commit (one writer at a time),
// elsewhere it finds the row at its next poll.
void Wiring::queue_confirmation(db::Connection& c, const orders::Order& order,
                                const std::vector<payments::Attempt>* attempts) {
  notify::enqueue_order_confirmation(c, order.id, order.email, confirmation_context(order));
  email.worker.wake();
  publish_order(c, webhooks::kOrderPaid, order, attempts);
}

// An account email (password reset, email verification), in the transaction that issued its token;
// the link with the token is sealed, so the outbox row holds no usable token.
void Wiring::queue_account_email(db::Connection& c, auth::AccountEmail kind, const std::string& recipient,
                                 boost::json::object context, const boost::json::object& sealed) {
  context[notify::kSealedKey] = sealer->seal(sealed);
  auto name = kind == auth::AccountEmail::password_reset ? notify::kPasswordReset : notify::kEmailVerification;
  notify::enqueue_account_email(c, name, recipient, context);
  email.worker.wake();
}

// A cancel or an expiry of an unpaid order queues its email in the same transaction (as above).
void Wiring::queue_ended(db::Connection& c, const orders::Order& order, orders::EndedBy by) {
  auto [kind, context] = ended_email(order, by);
  notify::enqueue(c, kind, order.id, 0, order.email, context);
  email.worker.wake();
  publish_order(c, by == orders::EndedBy::sweeper ? webhooks::kOrderExpired : webhooks::kOrderCancelled, order);
}

// The refund_issued email, queued by the transaction that settles the refund as succeeded (one per
// refund: ref is the refund's id).
void Wiring::queue_refund_issued(db::Connection& c, const orders::Order& order, const payments::Refund& refund,
                                 common::Money refunded_total) {
  notify::enqueue(c, notify::kRefundIssued, order.id, refund.id, order.email,
                  refund_context(order, refund, refunded_total));
  email.worker.wake();
  publish_order(c, webhooks::kOrderRefunded, order);
}

// The order_cancelled email of staff's cancel of a paid order, queued by the cancel's transaction.
void Wiring::queue_cancelled_by_staff(db::Connection& c, const orders::Order& order, common::Money refund_amount) {
  notify::enqueue(c, notify::kOrderCancelled, order.id, 0, order.email, staff_cancel_context(order, refund_amount));
  email.worker.wake();
  publish_order(c, webhooks::kOrderCancelled, order);
}

// A webhook event about an order, in the transaction of the change it reports; its data is the order as
// staff see it (GET /admin/orders/{id}/), built only when an endpoint subscribes to the type.
void Wiring::publish_order(db::Connection& c, std::string_view type, const orders::Order& order,
                           const std::vector<payments::Attempt>* attempts) {
  webhooks.publish(c, type, [&](boost::json::storage_ptr sp) {
    return admin::order_json(order, attempts ? *attempts : payments.attempts_in(c, order.id), std::move(sp));
  });
}

// The events no email marks: placements, failed payments, low stock (the others are published beside
// their emails above, and in shipping_hooks).
void Wiring::publish_webhooks() {
  // A placed order has no payment attempt yet: its data needs no read.
  orders.on_placed([this](db::Connection& c, const orders::Order& order) {
    webhooks.publish(c, webhooks::kOrderPlaced,
                     [&](boost::json::storage_ptr sp) { return admin::order_json(order, {}, std::move(sp)); });
  });
  payments.on_failed([this](db::Connection& c, const orders::Order& order,
                            const std::vector<payments::Attempt>* attempts) {
    publish_order(c, webhooks::kPaymentFailed, order, attempts);
  });
  // A settle reads the order's attempts with its own statement when its event will carry them.
  payments.attempts_wanted([this](db::Connection& c, bool succeeded) {
    return webhooks.subscribed(c, succeeded ? webhooks::kOrderPaid : webhooks::kPaymentFailed);
  });
  // The product as GET /store/products/{id}/ shows it, with the stock the change left.
  catalog.stock_watch().listen([this](db::Connection& c, const catalog::LowStock& low) {
    webhooks.publish(c, webhooks::kProductLowStock, [&](const boost::json::storage_ptr&) {
      auto product = catalog::orderable(c, low.product_id);
      return product ? catalog::to_json(*product) : boost::json::object{{"id", low.product_id}, {"stock", low.stock}};
    });
  });
}

// The low-stock email (issue #22): one to each active staff member who opted in, queued by the
// transaction that took the product below the threshold (notify/low_stock.hpp), so a sale that rolls
// back sends none. Runs where that transaction runs (SQLite's writer thread for a placement): only a
// crossing costs statements, a few.
void Wiring::queue_low_stock(db::Connection& c, const catalog::LowStock& low) {
  auto product = catalog::orderable(c, low.product_id);
  if (!product) return;
  std::vector<notify::StaffRecipient> to;
  for (auto& r : auth::Service::low_stock_recipients(c)) to.push_back({std::move(r.username), std::move(r.email)});
  notify::LowStockAlert alert{.product_id = low.product_id,
                              .product = product->name,
                              .price = product->price.to_string(),
                              .stock = low.stock,
                              .threshold = low.threshold,
                              .crossed_at = common::now_micros()};
  if (notify::enqueue_low_stock(c, alert, to) > 0) email.worker.wake();
}

// Payments first: a refund needs its charge settled.
void Wiring::reconcile(std::int64_t now) {
  payments.reconcile(now);
  refunds.reconcile(now);
}

// What shipping asks of the other modules, inside its transactions: the order_shipped email
// (notify's outbox) and a return's refund, claimed by payments' refunds in the return's transaction
// and sent once it committed.
orders::ShippingHooks Wiring::shipping_hooks() {
  orders::ShippingHooks hooks;
  hooks.shipped = [this](db::Connection& c, const orders::Order& order, const orders::Fulfilment& fulfilment) {
    notify::enqueue(c, notify::kOrderShipped, order.id, fulfilment.id, order.email, shipped_context(order, fulfilment));
    publish_order(c, webhooks::kOrderFulfilled, order);
  };
  hooks.delivered = [this](db::Connection& c, const orders::Order& order, const orders::Fulfilment&) {
    publish_order(c, webhooks::kOrderDelivered, order);
  };
  hooks.returned = [this](db::Connection& c, const orders::Order& order, const orders::Return&) {
    publish_order(c, webhooks::kOrderReturned, order);
  };
  hooks.claim_refund = [this](db::Connection& c, const orders::RefundAsked& asked) -> orders::SendRefund {
    auto claim = refunds.claim(c, {asked.order_id, asked.amount, asked.reason, asked.staff_id, asked.return_id});
    return [this, claim] { return refunds.send(claim); };
  };
  return hooks;
}

// Returns the stock of unpaid orders whose reservation ran out, forgets old idempotency keys, and
// deletes refresh tokens that can no longer be used (expired or revoked) and expired account tokens.
void Wiring::sweep(std::int64_t now) {
  while (orders.expire_overdue(now) > 0) {
  }
  keys.purge(now);
  while (accounts.service.purge_refresh_tokens(now) > 0) {
  }
  while (accounts.service.purge_account_tokens(now) > 0) {
  }
  auto mail_before = now - duration_cast<std::chrono::microseconds>(config.mail_keep).count();
  while (outbox.purge(mail_before) > 0) {
  }
}

int Wiring::print_routes() const {
  for (const auto& route : router.routes()) std::cout << to_string(route.method) << " " << route.path << "\n";
  return 0;
}

// A node of this version still serving after a newer orderd's `migrate` would run statements the new
// schema may not keep right (docs/scaling.md, "Upgrading": payments charged and not recorded, webhooks
// sent twice). So a serving node asks every kSchemaWatchInterval, and when the answer is yes it stops
// serving as on SIGTERM (new connections are refused at once; requests in flight finish) and stops its
// background work (the newer nodes' workers take it over); serve returns 1. The server first: a
// worker's stop waits for what it is doing (an SMTP conversation, up to smtp_timeout), and the node
// must not take payments meanwhile. A database that does not answer is the other tasks' to report.
void Wiring::watch_schema() {
  std::optional<std::string> newer;
  try {
    newer = db::newer_schema_now(*database);
  } catch (const std::exception& e) {
    spdlog::debug("schema watch: {}", e.what());
    return;
  }
  if (!newer || outdated.exchange(true)) return;
  spdlog::error("stopping: {}", *newer);
  if (auto* server = serving.load()) server->stop();
  webhook_sender.stop();
  email.worker.stop();
  reconciler.stop();
  sweeper.stop();
}

// Serves until a signal or a stop; the background tasks run for as long as the server does. Returns 1
// when it stopped because a newer orderd migrated the database (watch_schema), 0 otherwise.
int Wiring::serve(std::chrono::steady_clock::time_point started) {
  auto options = server_options(config);
  options.local_reads = database->reads_locally();
  if (database->queues_writes()) {
    options.submit_write = [this](db::Database::Body body, db::Database::Done done) {
      database->submit(std::move(body), std::move(done));
    };
  }
  after_answer.start();
  accounts.service.set_after_answer([this](std::function<void()> job) { return after_answer.post(std::move(job)); });
  metrics.gauge("orderd_build_info", "Always 1; its labels name the version and the commit this node runs.",
                [] { return 1.0; }, fmt::format(R"(version="{}",commit="{}")", ORDERD_VERSION, build_commit()));
  http::Server server(std::move(options), router, metrics);
  auto port = server.listen();
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("orderd {} ({}) listening on {}:{} ({} environment, ready in {:.1f} ms)", ORDERD_VERSION,
               build_commit(), config.listen_host(), port, config.env, ms);
  if (config.production() && !gateway_on_loopback(config.payment_gateway)) {
    spdlog::warn("payment_gateway is not on this machine and is reached over plain HTTP: card numbers cross the "
                 "network unencrypted; keep it on a private network or reach it through a TLS tunnel on this node");
  }
  sweeper.start();
  reconciler.start();
  email.worker.start();
  webhook_sender.start();
  serving = &server;
  schema_watch.start();
  server.run();
  schema_watch.stop();  // first: it may be stopping the tasks below itself
  serving = nullptr;
  after_answer.stop();  // what was answered is done before the process ends
  webhook_sender.stop();
  email.worker.stop();
  reconciler.stop();
  sweeper.stop();
  return outdated ? 1 : 0;
}

// serve, or (routes_only) wire the same modules and print the router's table instead of listening.
int serve_or_list(const Config& config, bool routes_only) {
  auto started = std::chrono::steady_clock::now();
  init_logging(config.log_level, config.log_format);
  Wiring wiring(config);
  if (routes_only) return wiring.print_routes();
  return wiring.serve(started);
}

}  // namespace

int serve(const Config& config) { return serve_or_list(config, false); }

int list_routes(const Config& config) {
  // Nothing is served or stored: a private in-memory database is enough to wire the modules.
  Config quiet = config;
  quiet.database_url = "sqlite://:memory:";
  quiet.database_pool = 1;
  quiet.log_level = "warn";
  quiet.jwt_secret = "unused: listing routes issues no tokens";
  return serve_or_list(quiet, true);
}

int migrate(const Config& config) {
  init_logging(config.log_level, config.log_format);
  auto database = db::open(config.database_url);
  int applied = db::migrate(*database);
  if (auto newer = db::newer_schema(*database)) {
    spdlog::warn("{}", *newer);
    spdlog::info("{} migrations applied", applied);
  } else {
    spdlog::info("{} migrations applied; schema is up to date", applied);
  }
  return 0;
}

int backup(const Config& config, const std::string& target) {
  init_logging("warn", config.log_format);
  auto source = db::sqlite_path(config.database_url);
  if (!source) {
    throw std::runtime_error("backup copies a SQLite database; on PostgreSQL use pg_dump (docs/reliability.md, "
                             "\"Backups\")");
  }
  if (*source == ":memory:") throw std::runtime_error("an in-memory database has nothing to back up");
  auto report = db::backup_sqlite(*source, target);
  std::cout << "backed up " << *source << " to " << target << ": " << report.bytes << " bytes, schema at migration "
            << report.schema_version << " (" << report.schema_name << ")\n";
  return 0;
}

int user_create(const Config& config, const NewUserCommand& command) {
  init_logging("warn", config.log_format);
  auto database = open_database(config);
  Accounts accounts(config, *database, "unused: the CLI issues no tokens");
  return report([&] {
    auth::NewUser user{command.email, command.username, read_password(), std::nullopt,
                       command.staff ? auth::Role::staff : auth::Role::customer};
    auto created = accounts.service.register_user(std::move(user));
    std::cout << "created " << auth::to_string(created.role) << " user " << created.id << " <" << created.email
              << ">\n";
    return 0;
  });
}

int user_set_role(const Config& config, const std::string& email, auth::Role role) {
  init_logging("warn", config.log_format);
  auto database = open_database(config);
  Accounts accounts(config, *database, "unused: the CLI issues no tokens");
  return report([&] {
    if (!accounts.service.set_role(email, role)) {
      std::cerr << "orderd: no user with email " << email << "\n";
      return 1;
    }
    std::cout << email << " is now " << auth::to_string(role) << "\n";
    return 0;
  });
}

namespace {

// The fault flags of one kind of request (charges: "", refunds: "refund-"), checked.
payments::MockFaults mock_faults(const std::string& flag, int fail_status, bool reset_after, int fail_after,
                                 bool hang) {
  if (fail_status != 0 && (fail_status < 400 || fail_status > 599)) {
    throw ConfigError("--" + flag + "fail-status " + std::to_string(fail_status) +
                      ": expected an HTTP status from 400 to 599");
  }
  if (fail_after != 0 && (fail_after < 500 || fail_after > 599)) {
    auto name = flag.empty() ? std::string("--fail-after-charge ") : std::string("--fail-after-refund ");
    throw ConfigError(name + std::to_string(fail_after) + ": expected an HTTP status from 500 to 599");
  }
  return {.fail_status = fail_status, .reset_after_charge = reset_after, .fail_after_charge = fail_after, .hang = hang};
}

void warn_of_faults(const payments::MockFaults& faults, std::string_view what) {
  if (faults.fail_status != 0) spdlog::warn("fault injection: every {} is answered {}", what, faults.fail_status);
  if (faults.reset_after_charge) spdlog::warn("fault injection: the connection is reset after each {}", what);
  if (faults.fail_after_charge != 0) {
    spdlog::warn("fault injection: each {} is made, then answered {}", what, faults.fail_after_charge);
  }
  if (faults.hang) spdlog::warn("fault injection: {}s are never answered", what);
}

}  // namespace

int mock_gateway(const MockGatewayCommand& command) {
  init_logging(command.log_level, command.log_format);
  Config where;  // only for its HOST:PORT parsing
  where.listen = command.listen;
  http::ServerOptions options;
  try {
    options.host = where.listen_host();
    options.port = static_cast<std::uint16_t>(where.listen_port());
  } catch (const std::invalid_argument& e) {
    throw ConfigError("--listen \"" + command.listen + "\": " + e.what());
  }
  options.io_threads = 1;
  options.handler_threads = 8;  // charges sleep through --latency on these
  options.shutdown_timeout = std::chrono::seconds(5);

  payments::MockGateway::Options gateway_options;
  try {
    gateway_options.latency = parse_duration(command.latency);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("--latency \"" + command.latency + "\": " + e.what() + " (e.g. 200ms)");
  }
  auto faults = mock_faults("", command.fail_status, command.reset_after_charge, command.fail_after_charge,
                            command.hang);
  auto refund_faults = mock_faults("refund-", command.refund_fail_status, command.reset_after_refund,
                                   command.fail_after_refund, command.hang_refunds);
  payments::MockGateway gateway(gateway_options);
  http::Router router;
  payments::register_mock_gateway_routes(router, gateway, faults, refund_faults);
  common::Metrics metrics;  // the server wants one; the mock exposes no /metrics

  http::Server server(options, router, metrics);
  auto port = server.listen();
  warn_of_faults(faults, "charge");
  warn_of_faults(refund_faults, "refund");
  spdlog::info("mock-gateway listening on {}:{} (latency {})", options.host, port,
               format_duration(gateway_options.latency));
  server.run();
  return 0;
}

}  // namespace app

namespace app {

namespace {

int refuse_file(const std::string& path, const std::vector<std::string>& problems) {
  for (const auto& p : problems) std::cerr << path << ": " << p << "\n";
  std::cerr << "orderd: nothing imported: fix the rows above and run the import again\n";
  return 1;
}

// Every good row of a product file, read a row at a time; the rows' problems go to `problems`.
void each_product(const std::string& path, catalog::FileFormat format, const common::Currency& currency,
                  std::vector<std::string>& problems,
                  const std::function<void(const catalog::ProductChange&)>& take) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw common::Error("validation_error", "cannot read " + path);
  auto reader = catalog::read_products(in, format, currency);
  catalog::ProductChange product;
  while (reader->next(product, problems)) take(product);
}

// A product file in constant memory (issue #22): a first pass checks every row (nothing is imported
// from a file with a problem, and the database is not even opened), the second imports them in the
// one transaction, reading the file again; the count from the first gives the progress its total.
int import_file(const Config& config, const std::string& path, catalog::FileFormat format) {
  std::vector<std::string> problems;
  std::size_t rows = 0;
  each_product(path, format, config.shop_currency(), problems, [&rows](const catalog::ProductChange&) { ++rows; });
  if (!problems.empty()) return refuse_file(path, problems);
  auto database = open_database(config);
  catalog::Service catalog(*database, config.shop_currency());
  auto progress = Progress::on_stderr("rows", rows);
  auto source = [&](const std::function<void(const catalog::ProductChange&)>& take) {
    std::vector<std::string> changed;
    each_product(path, format, config.shop_currency(), changed, take);
    // Rolls the import back: the file is not the one that was checked.
    if (!changed.empty()) {
      throw common::Error("validation_error", path + " changed while it was imported: " + changed[0]);
    }
  };
  auto summary = catalog.import(source, true, std::ref(progress));
  progress.finish();
  print_summary(summary);
  return 0;
}

}  // namespace

int product_import(const Config& config, const std::string& path) {
  init_logging("warn", config.log_format);
  return report([&] {
    auto format = catalog::format_of(path);
    if (!std::ifstream(path, std::ios::binary)) {
      std::cerr << "orderd: cannot read " << path << "\n";
      return 1;
    }
    return import_file(config, path, format);
  });
}

int demo_data(const Config& config) {
  init_logging("warn", config.log_format);
  auto database = open_database(config);
  catalog::Service catalog(*database, config.shop_currency());
  return report([&] {
    print_summary(catalog.import(catalog::demo_products(config.shop_currency()), false));
    return 0;
  });
}

namespace {

void print_preview(const notify::RenderedEmail& email, PreviewPart part) {
  if (part == PreviewPart::html) std::cout << email.html;
  else if (part == PreviewPart::text) std::cout << email.text;
  else std::cout << "Subject: " << email.subject << "\n\n" << email.text;
}

std::optional<std::int64_t> parse_order_id(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

bool is_kind(std::string_view what) {
  return std::find(notify::kEmailKinds.begin(), notify::kEmailKinds.end(), what) != notify::kEmailKinds.end();
}

// A kind's sample context, by the variant's name (the first when none is asked for).
boost::json::object sample_for(std::string_view kind, const std::string& variant) {
  auto samples = notify::Templates::sample_contexts(kind);
  std::string names;
  for (const auto& sample : samples) {
    if (variant.empty() || sample.name == variant) return sample.context;
    names += (names.empty() ? "" : ", ") + sample.name;
  }
  throw common::Error("validation_error", "--variant " + variant + ": " + std::string(kind) + " has " + names);
}

// An order's email of `kind`: the confirmation from the order itself, any other from the outbox. Like
// staff's preview, it never opens sealed fields.
notify::RenderedEmail order_email(db::Database& database, const notify::Templates& templates, std::string_view kind,
                                  std::int64_t order_id) {
  if (notify::is_account_email(kind) || kind == notify::kLowStock) {
    throw common::Error("validation_error", std::string(kind) + " is about " +
                                                (kind == notify::kLowStock ? "a product" : "an account") +
                                                ", not an order: preview it without an order id");
  }
  if (kind == notify::kOrderConfirmation) {
    common::Metrics metrics;
    orders::Service orders(database, metrics, {});
    return templates.render(confirmation_context(orders.get_for_staff(order_id)));
  }
  auto stored = database.read([&](db::Connection& c) { return notify::find_for_order(c, kind, order_id); });
  if (!stored) {
    throw common::Error("not_found", "No " + std::string(kind) + " email was queued for order " +
                                         std::to_string(order_id) + " (not found)");
  }
  return notify::render_stored(templates, kind, stored->payload, notify::SealedFields::hidden);
}

}  // namespace

int email_preview(const Config& config, const EmailPreviewCommand& command) {
  init_logging("warn", config.log_format);
  // Every validation_error here is about the command line (a kind, a --variant, an order id a kind
  // does not take): exit code 2, as for any bad value there (README, "Command line").
  return report([&] {
    auto templates = notify::Templates::load(config.template_dir, config.shop_name, config.shop_currency());
    std::string kind(notify::kOrderConfirmation);
    auto order_id = command.order_id;
    if (is_kind(command.what)) {
      kind = command.what;
    } else if (auto id = parse_order_id(command.what)) {
      order_id = id;
    } else {
      std::string kinds;
      for (auto k : notify::kEmailKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
      throw common::Error("validation_error", "\"" + command.what + "\" is neither an order id nor a kind (" + kinds + ")");
    }
    if (!order_id) {
      print_preview(templates.render(kind, sample_for(kind, command.variant)), command.part);
      return 0;
    }
    auto database = open_database(config);
    print_preview(order_email(*database, templates, kind, *order_id), command.part);
    return 0;
  }, ValidationErrors::are_usage);
}

}  // namespace app
