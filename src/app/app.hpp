#pragma once
// The commands of the orderd binary, wired from configuration. main.cpp only parses arguments.

#include "app/config.hpp"
#include "auth/role.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace app {

int serve(const Config& config);
// Prints "METHOD /path/pattern" for every route serve would answer, one per line (for the API docs
// test: the binary is the authority on what it serves). Uses an in-memory database.
int list_routes(const Config& config);
int migrate(const Config& config);
// Copies the SQLite database to `target`, a new file, while nodes serve it (db/backup.hpp); on
// PostgreSQL it says to use pg_dump and fails.
int backup(const Config& config, const std::string& target);

struct NewUserCommand {
  std::string email;
  std::string username;
  bool staff = false;
};
// Reads the password from standard input (prompting without echo on a terminal).
int user_create(const Config& config, const NewUserCommand& command);
int user_set_role(const Config& config, const std::string& email, auth::Role role);

// Creates or updates products from a .json or .csv file, all or nothing.
int product_import(const Config& config, const std::string& path);
// Loads the demo catalogue; products that exist already are left as they are.
int demo_data(const Config& config);

// Renders an email with the configured templates to standard output: the subject and the text body,
// or only the HTML (`html`) or only the text (`text`). `what` is an order id (that order's
// confirmation, as before) or a kind of email: alone, its sample context (`variant` picks one of
// order_cancelled's wordings: customer, staff, refunded); with `order_id`, that order's confirmation
// or its newest queued email of the kind.
enum class PreviewPart { both, html, text };
struct EmailPreviewCommand {
  std::string what;
  std::optional<std::int64_t> order_id;
  std::string variant;
  PreviewPart part = PreviewPart::both;
};
int email_preview(const Config& config, const EmailPreviewCommand& command);

struct MockGatewayCommand {
  std::string listen = "127.0.0.1:8100";  // port 0 picks a free one
  std::string latency = "0ms";             // a duration, added to every charge
  int fail_status = 0;                      // fault injection (docs/payment-gateway.md); 0: off
  bool reset_after_charge = false;
  int fail_after_charge = 0;                // fault injection: 5xx after charging; 0: off
  bool hang = false;
  // The same faults for refunds (POST /v1/refunds), so a test can pay through a healthy mock first.
  int refund_fail_status = 0;
  bool reset_after_refund = false;
  int fail_after_refund = 0;
  bool hang_refunds = false;
  std::string log_level = "info";
  std::string log_format = "text";
};
// Serves the payment gateway protocol (docs/payment-gateway.md) with the mock's test cards until
// SIGTERM/SIGINT. Prints "mock-gateway listening on HOST:PORT" once it accepts connections.
int mock_gateway(const MockGatewayCommand& command);

}  // namespace app
