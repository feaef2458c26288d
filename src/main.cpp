// orderd: order processing for online shops. This file only parses the command line.

#include "app/app.hpp"
#include "app/build_commit.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>  // environ

namespace {

// The steps of main(), defined below it.
CLI::App* add_config_options(CLI::App* command, std::string& config_file, std::map<std::string, std::string>& flags);
using WithConfig = std::function<CLI::App*(CLI::App*)>;
std::pair<CLI::App*, CLI::App*> add_product_commands(CLI::App& cli, const WithConfig& with_config,
                                                     std::string& import_file);
CLI::App* add_routes_command(CLI::App& cli, const WithConfig& with_config);
CLI::App* add_backup_command(CLI::App& cli, const WithConfig& with_config, std::string& file);
CLI::App* add_email_commands(CLI::App& cli, const WithConfig& with_config, app::EmailPreviewCommand& preview,
                             bool& preview_html, bool& preview_text);
app::PreviewPart part_of(bool html, bool text);  // which part `email preview` shows
int run_email_preview(const app::Config& config, app::EmailPreviewCommand preview, app::PreviewPart part);
CLI::App* add_mock_gateway_command(CLI::App& cli, app::MockGatewayCommand& gateway);
int run_mock_gateway(const app::MockGatewayCommand& gateway);
bool load_config(const std::string& config_file, const std::map<std::string, std::string>& flags,
                 app::Config& config);

// Parses the command line; an exit code when it must end here: 0 after --help or --version, 2 for a
// usage mistake (as for a bad configuration value), told on stderr with what was wrong. CLI11's own
// codes (105, 106, ...) were undocumented, and an unknown word was reported as "A subcommand is
// required" without naming it.
std::optional<int> parse_arguments(CLI::App& cli, int argc, char** argv) {
  try {
    cli.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (argc > 1 && cli.get_subcommands().empty()) {  // nothing known was named: say what was
      std::string first = argv[1];
      message = first.starts_with("-") ? "unknown option " + first : "unknown command '" + first + "'";
    }
    std::cerr << "orderd: " << message << "\nRun orderd --help for the commands and their options.\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"orderd: order processing for online shops"};
  cli.set_version_flag("--version", std::string("orderd ") + ORDERD_VERSION + " (" + app::build_commit() + ")");
  cli.require_subcommand(1);

  std::string config_file;
  std::map<std::string, std::string> flags;
  auto with_config = [&](CLI::App* command) { return add_config_options(command, config_file, flags); };
  auto* serve = with_config(cli.add_subcommand("serve", "Serve the HTTP API (applies pending migrations first)"));
  auto* migrate = with_config(cli.add_subcommand("migrate", "Apply pending database migrations and exit"));
  auto* routes = add_routes_command(cli, with_config);
  std::string backup_file;
  auto* backup = add_backup_command(cli, with_config, backup_file);

  auto* user = cli.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  app::NewUserCommand new_user;
  bool password_stdin = false;
  auto* user_create = with_config(user->add_subcommand("create", "Create a user; the password is read from stdin"));
  user_create->add_option("--email", new_user.email, "email address")->required();
  user_create->add_option("--username", new_user.username, "username")->required();
  user_create->add_flag("--staff", new_user.staff, "give the user the staff role");
  user_create->add_flag("--password-stdin", password_stdin,
                        "read the password from standard input (prompted without echo on a terminal)")
      ->required();
  std::string role_email, role;
  auto* user_role = with_config(user->add_subcommand("set-role", "Make a user staff or customer"));
  user_role->add_option("email", role_email, "the user's email")->required();
  user_role->add_option("role", role, "staff or customer")->required()->check(CLI::IsMember({"staff", "customer"}));

  std::string import_file;
  auto [product_import, demo_data] = add_product_commands(cli, with_config, import_file);
  app::EmailPreviewCommand preview;
  bool preview_html = false, preview_text = false;
  auto* email_preview = add_email_commands(cli, with_config, preview, preview_html, preview_text);
  app::MockGatewayCommand gateway;
  auto* mock_gateway = add_mock_gateway_command(cli, gateway);

  if (auto usage = parse_arguments(cli, argc, argv)) return *usage;

  if (mock_gateway->parsed()) return run_mock_gateway(gateway);
  app::Config config;
  if (!load_config(config_file, flags, config)) return 2;
  try {
    if (serve->parsed()) return app::serve(config);
    if (migrate->parsed()) return app::migrate(config);
    if (routes->parsed()) return app::list_routes(config);
    if (backup->parsed()) return app::backup(config, backup_file);
    if (user_create->parsed()) return app::user_create(config, new_user);
    if (user_role->parsed()) return app::user_set_role(config, role_email, *auth::parse_role(role));
    if (product_import->parsed()) return app::product_import(config, import_file);
    if (demo_data->parsed()) return app::demo_data(config);
    if (email_preview->parsed()) return run_email_preview(config, preview, part_of(preview_html, preview_text));
  } catch (const std::exception& e) {
    spdlog::critical("orderd: {}", e.what());
    std::cerr << "orderd: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

namespace {

// Adds --config and one --flag per configuration key to a command that reads the configuration.
CLI::App* add_config_options(CLI::App* command, std::string& config_file, std::map<std::string, std::string>& flags) {
  command->add_option("--config", config_file, "TOML configuration file (default: ./orderd.toml if present)");
  for (const auto& key : app::config_keys()) {
    auto help = key.help + " [" + key.env + (key.default_value.empty() ? "" : ", default " + key.default_value) + "]";
    command->add_option_function<std::string>(
        key.flag, [&flags, name = key.name](const std::string& value) { flags[name] = value; }, help);
  }
  return command;
}

// `product import` and `demo-data`.
std::pair<CLI::App*, CLI::App*> add_product_commands(CLI::App& cli, const WithConfig& with_config,
                                                     std::string& import_file) {
  auto* product = cli.add_subcommand("product", "Manage the catalogue");
  product->require_subcommand(1);
  auto* product_import = with_config(product->add_subcommand(
      "import", "Create or update products from FILE.json (an array) or FILE.csv (name,description,price,stock); "
                "all or nothing"));
  product_import->add_option("file", import_file, "the .json or .csv file")->required();
  auto* demo_data = with_config(cli.add_subcommand("demo-data", "Load the demo catalogue (existing products are kept)"));
  return {product_import, demo_data};
}

// A development aid, listed in --help and the README.
CLI::App* add_routes_command(CLI::App& cli, const WithConfig& with_config) {
  auto* routes = with_config(cli.add_subcommand("routes", "Print every route of the HTTP API: METHOD PATH per line"));
  return routes;
}

// `backup FILE` (db/backup.hpp).
CLI::App* add_backup_command(CLI::App& cli, const WithConfig& with_config, std::string& file) {
  auto* backup = with_config(cli.add_subcommand(
      "backup", "Copy the SQLite database to FILE while nodes serve it: one consistent moment, checked, never "
                "overwriting (on PostgreSQL use pg_dump)"));
  backup->add_option("file", file, "the new file to write")->required();
  return backup;
}

// `email preview`.
CLI::App* add_email_commands(CLI::App& cli, const WithConfig& with_config, app::EmailPreviewCommand& preview,
                             bool& preview_html, bool& preview_text) {
  auto* email = cli.add_subcommand("email", "Customer emails");
  email->require_subcommand(1);
  auto* email_preview = with_config(email->add_subcommand(
      "preview", "Render an email with the configured templates, without sending it: an order's confirmation "
                 "(ORDER_ID), a kind's sample (KIND), or an order's email of that kind (KIND ORDER_ID)"));
  email_preview
      ->add_option("what", preview.what,
                   "an order id, or a kind: order_confirmation, order_shipped, refund_issued, order_cancelled, "
                   "order_expired, password_reset, email_verification, low_stock (the last three: their sample only)")
      ->required();
  email_preview->add_option("order_id", preview.order_id, "with a kind: the order")->check(CLI::PositiveNumber);
  email_preview->add_option("--variant", preview.variant,
                            "a sample's wording (order_cancelled: customer, staff, refunded)");
  auto* html_flag = email_preview->add_flag("--html", preview_html, "only the HTML body");
  email_preview->add_flag("--text", preview_text, "only the text body")->excludes(html_flag);
  return email_preview;
}

app::PreviewPart part_of(bool html, bool text) {
  return html ? app::PreviewPart::html : text ? app::PreviewPart::text : app::PreviewPart::both;
}

// `orderd email preview` with the part its flags chose.
int run_email_preview(const app::Config& config, app::EmailPreviewCommand preview, app::PreviewPart part) {
  preview.part = part;
  return app::email_preview(config, preview);
}

CLI::App* add_mock_gateway_command(CLI::App& cli, app::MockGatewayCommand& gateway) {
  auto* mock_gateway = cli.add_subcommand("mock-gateway", "Serve a mock payment gateway (docs/payment-gateway.md)");
  mock_gateway->add_option("--listen", gateway.listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->capture_default_str();
  mock_gateway->add_option("--latency", gateway.latency, "delay added to every charge, e.g. 200ms")
      ->capture_default_str();
  mock_gateway->add_option("--fail-status", gateway.fail_status,
                           "fault: answer every charge with this HTTP status (400-599), charging nothing");
  mock_gateway->add_flag("--reset-after-charge", gateway.reset_after_charge,
                         "fault: charge, then reset the connection instead of answering");
  mock_gateway->add_option("--fail-after-charge", gateway.fail_after_charge,
                           "fault: charge, then answer this HTTP status (500-599) with a proxy's error page");
  mock_gateway->add_flag("--hang", gateway.hang, "fault: never answer a charge (and charge nothing)");
  mock_gateway->add_option("--refund-fail-status", gateway.refund_fail_status,
                           "fault: answer every refund with this HTTP status (400-599), refunding nothing");
  mock_gateway->add_flag("--reset-after-refund", gateway.reset_after_refund,
                         "fault: refund, then reset the connection instead of answering");
  mock_gateway->add_option("--fail-after-refund", gateway.fail_after_refund,
                           "fault: refund, then answer this HTTP status (500-599) with a proxy's error page");
  mock_gateway->add_flag("--hang-refunds", gateway.hang_refunds, "fault: never answer a refund (and refund nothing)");
  mock_gateway->add_option("--log-level", gateway.log_level, "trace, debug, info, warn, error")->capture_default_str();
  mock_gateway->add_option("--log-format", gateway.log_format, "text or json")->capture_default_str();
  return mock_gateway;
}

// The mock gateway reads no configuration file: its flags are all it takes. Exit 2 for bad flags.
int run_mock_gateway(const app::MockGatewayCommand& gateway) {
  try {
    return app::mock_gateway(gateway);
  } catch (const app::ConfigError& e) {
    std::cerr << "orderd mock-gateway: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "orderd mock-gateway: " << e.what() << "\n";
    return 1;
  }
}

// Defaults < file < environment < flags; false (after saying why) for a configuration error.
bool load_config(const std::string& config_file, const std::map<std::string, std::string>& flags,
                 app::Config& config) {
  try {
    std::vector<std::string> names;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      names.emplace_back(text.substr(0, text.find('=')));
    }
    app::refuse_misspelled_env(names);
    config = app::load_config(config_file.empty() ? std::nullopt : std::optional(config_file), flags);
    return true;
  } catch (const app::ConfigError& e) {
    std::cerr << "orderd: configuration error: " << e.what() << "\n";
    return false;
  }
}

}  // namespace
