#include "app/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using app::Config;
using app::ConfigError;
using app::Duration;
using app::parse_duration;
using namespace std::chrono_literals;

namespace {

app::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("3s"), 3s);
  EXPECT_EQ(parse_duration("15m"), 15min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("7d"), Duration(7LL * 24 * 3600 * 1000));
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "15", "s", "-3s", "3 s", "3x", "1.5s", "3sec", "99999999999999999999d"}) {
    EXPECT_THROW(parse_duration(bad), std::invalid_argument) << bad;
  }
}

TEST(Duration, HundredYearsIsTheLongest) {
  // Longer ones overflowed where they became nanoseconds or were added to a time: 200000d made the
  // sweeper spin, 200000000d as mail_keep forgot every email at once (an outside audit).
  EXPECT_EQ(parse_duration("36500d"), Duration(36500LL * 86400 * 1000));
  EXPECT_EQ(parse_duration("876000h"), Duration(36500LL * 86400 * 1000));
  for (const char* bad : {"36501d", "876001h", "200000d", "106751991167d", "3153600000001ms"}) {
    EXPECT_THROW(parse_duration(bad), std::invalid_argument) << bad;
  }
}

TEST(Config, TokenLifetimesAreWholeSecondsAtLeastOne) {
  for (const char* key : {"access_ttl", "refresh_ttl"}) {
    EXPECT_THROW(app::load_config(std::nullopt, {{key, "500ms"}}, env_of({})), app::ConfigError) << key;
    EXPECT_EQ(app::load_config(std::nullopt, {{key, "1s"}}, env_of({})).access_ttl.count() > 0, true);
  }
}

TEST(Duration, FormatsInTheLargestWholeUnit) {
  EXPECT_EQ(app::format_duration(15min), "15m");
  EXPECT_EQ(app::format_duration(1500ms), "1500ms");
  EXPECT_EQ(app::format_duration(Duration(7LL * 86400 * 1000)), "7d");
}

TEST(Config, DefaultsMatchTheDesign) {
  Config c = app::load_config(std::nullopt, {}, env_of({}));
  EXPECT_EQ(c.listen, "127.0.0.1:8000");
  EXPECT_EQ(c.database_url, "sqlite://var/orderd.db");
  EXPECT_EQ(c.access_ttl, 15min);
  EXPECT_EQ(c.refresh_ttl, Duration(7LL * 86400 * 1000));
  EXPECT_EQ(c.reservation_ttl, 15min);
  EXPECT_EQ(c.sweep_interval, 10s);
  EXPECT_EQ(c.payment_gateway, "mock");
  EXPECT_EQ(c.mail_dir, "var/mail");
  EXPECT_EQ(c.listen_host(), "127.0.0.1");
  EXPECT_EQ(c.listen_port(), 8000u);
}

TEST(Config, LayersFileThenEnvironmentThenFlags) {
  auto path = std::filesystem::temp_directory_path() / "orderd-config-test.toml";
  {
    std::ofstream f(path);
    f << "listen = \"127.0.0.1:9001\"\naccess_ttl = \"5m\"\nthreads = 3\nshop_name = \"From file\"\n";
  }
  Config c = app::load_config(path.string(), {{"threads", "4"}},
                              env_of({{"ORDERD_ACCESS_TTL", "30s"}, {"ORDERD_THREADS", "2"}}));
  EXPECT_EQ(c.listen, "127.0.0.1:9001");  // file
  EXPECT_EQ(c.shop_name, "From file");     // file
  EXPECT_EQ(c.access_ttl, 30s);            // env beats file
  EXPECT_EQ(c.threads, 4);                 // flag beats env
  std::filesystem::remove(path);
}

TEST(Config, InvalidValuesNameTheirKey) {
  EXPECT_NE(message_of([] { app::load_config(std::nullopt, {}, env_of({{"ORDERD_ACCESS_TTL", "15x"}})); })
                .find("ORDERD_ACCESS_TTL"),
            std::string::npos);
  EXPECT_NE(message_of([] { app::load_config(std::nullopt, {{"threads", "many"}}, env_of({})); }).find("--threads"),
            std::string::npos);
  EXPECT_NE(message_of([] { app::load_config(std::nullopt, {}, env_of({{"ORDERD_LOG_FORMAT", "xml"}})); })
                .find("ORDERD_LOG_FORMAT"),
            std::string::npos);
  // Every key as written, including those whose values are checked beyond their form (a security and
  // docs audit found these named bare or not at all); URLs that may carry a password are not echoed.
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"ORDERD_LISTEN", "nowhere"}, {"ORDERD_DATABASE_URL", "mysql://u:pw@db/x"},
           {"ORDERD_PAYMENT_GATEWAY", "ftp://u:pw@gw"}, {"ORDERD_PAYMENT_GATEWAY", "https://gw"},
           {"ORDERD_SMTP_URL", "gopher://u:pw@mail"}, {"ORDERD_PUBLIC_URL", "not a url"},
           {"ORDERD_PUBLIC_URL", "https://shop.example/?x=1"}, {"ORDERD_TEMPLATE_DIR", "/nonexistent/templates"}}) {
    auto msg = message_of([&] { app::load_config(std::nullopt, {}, env_of({{name, value}})); });
    EXPECT_EQ(msg.find(name), 0u) << msg;
    EXPECT_EQ(msg.find("pw"), std::string::npos) << msg;
  }
  EXPECT_EQ(app::load_config(std::nullopt, {}, env_of({{"ORDERD_PUBLIC_URL", "https://shop.example/api/"}})).public_url,
            "https://shop.example/api/");
  EXPECT_NE(message_of([] { app::load_config("/nonexistent/orderd.toml", {}, env_of({})); }).find("does not exist"),
            std::string::npos);
}

TEST(Config, UnknownFileKeysAreRejected) {
  auto path = std::filesystem::temp_directory_path() / "orderd-config-unknown.toml";
  {
    std::ofstream f(path);
    f << "lisen = \"127.0.0.1:1\"\n";
  }
  EXPECT_NE(message_of([&] { app::load_config(path.string(), {}, env_of({})); }).find("lisen"), std::string::npos);
  std::filesystem::remove(path);
}

// 32 characters as `openssl rand -base64 24` gives them.
constexpr const char* kRandomSecret = "q8Zr3LmX0wT7bN2fH6sJ9dP4cG1yK5vA";

TEST(Config, ProductionRequiresAStrongSecretAndNeverEchoesIt) {
  EXPECT_THROW(app::load_config(std::nullopt, {}, env_of({{"ORDERD_ENV", "production"}})), ConfigError);
  auto msg = message_of([] {
    app::load_config(std::nullopt, {}, env_of({{"ORDERD_ENV", "production"}, {"ORDERD_JWT_SECRET", "short-secret"}}));
  });
  EXPECT_NE(msg.find("jwt_secret"), std::string::npos);
  EXPECT_EQ(msg.find("short-secret"), std::string::npos);
  Config ok = app::load_config(std::nullopt, {},
                               env_of({{"ORDERD_ENV", "production"},
                                       {"ORDERD_JWT_SECRET", kRandomSecret},
                                       {"ORDERD_PAYMENT_GATEWAY", "http://gateway.internal:8100"}}));
  EXPECT_TRUE(ok.production());
}

TEST(Config, ProductionRefusesASecretThatLooksTyped) {
  auto refusal = [](const std::string& secret) {
    return message_of([&] {
      app::load_config(std::nullopt, {},
                       env_of({{"ORDERD_ENV", "production"}, {"ORDERD_JWT_SECRET", secret},
                               {"ORDERD_PAYMENT_GATEWAY", "http://127.0.0.1:8100"}}));
    });
  };
  for (const std::string& weak : {std::string(32, ' '), std::string(40, 'a'), std::string("changeme") + "changeme" +
                                  "changeme" + "changeme", std::string("0123456789abcdef0123456789abcdef"),
                                  std::string("test-secret-0123456789abcdef0123456789abcdef"),
                                  std::string("abababababababababababababababababab") + "cd",
                                  std::string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbcccc")}) {
    auto msg = refusal(weak);
    EXPECT_NE(msg.find("jwt_secret"), std::string::npos) << weak;
    EXPECT_EQ(msg.find(weak), std::string::npos) << msg;
  }
  EXPECT_EQ(refusal(kRandomSecret), "");
  EXPECT_EQ(refusal("3f9a1c7e52b08d64e1a7c93b50f2d86a"), "");  // openssl rand -hex 16
}

TEST(Config, ProductionRefusesTheMockGatewayAndPrivateWebhooks) {
  auto production = [](std::map<std::string, std::string> more) {
    more.emplace("ORDERD_ENV", "production");
    more.emplace("ORDERD_JWT_SECRET", kRandomSecret);
    return message_of([&] { app::load_config(std::nullopt, {}, env_of(more)); });
  };
  auto msg = production({});  // the default is the mock
  EXPECT_NE(msg.find("payment_gateway"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ORDERD_PAYMENT_GATEWAY"), std::string::npos) << msg;
  EXPECT_NE(production({{"ORDERD_PAYMENT_GATEWAY", "mock"}}), "");
  EXPECT_EQ(production({{"ORDERD_PAYMENT_GATEWAY", "http://127.0.0.1:8100"}}), "");
  // Development keeps the mock as its default.
  EXPECT_EQ(app::load_config(std::nullopt, {}, env_of({})).payment_gateway, "mock");
  // Webhooks to loopback and private addresses are for development and tests (issue #19).
  auto gateway = std::pair<std::string, std::string>{"ORDERD_PAYMENT_GATEWAY", "http://127.0.0.1:8100"};
  auto refused = production({gateway, {"ORDERD_WEBHOOK_ALLOW_PRIVATE", "true"}});
  EXPECT_NE(refused.find("webhook_allow_private"), std::string::npos) << refused;
  EXPECT_EQ(production({gateway, {"ORDERD_WEBHOOK_ALLOW_PRIVATE", "false"}}), "");
  EXPECT_EQ(app::load_config(std::nullopt, {}, env_of({{"ORDERD_WEBHOOK_ALLOW_PRIVATE", "true"}})).webhook_allow_private,
            "true");
}

TEST(Config, MetricsTokenIsAConfigurationKey) {
  EXPECT_EQ(app::load_config(std::nullopt, {}, env_of({})).metrics_token, "");
  auto config = app::load_config(std::nullopt, {{"metrics_token", "scrape-me-0123456789"}}, env_of({}));
  EXPECT_EQ(config.metrics_token, "scrape-me-0123456789");
  for (const auto& key : app::config_keys()) {
    if (key.name == "metrics_token") {
      EXPECT_EQ(key.env, "ORDERD_METRICS_TOKEN");
    }
  }
}

TEST(Config, EveryKeyHasAnEnvironmentNameAndAFlag) {
  for (const auto& key : app::config_keys()) {
    EXPECT_EQ(key.env.rfind("ORDERD_", 0), 0u) << key.name;
    EXPECT_EQ(key.flag.rfind("--", 0), 0u) << key.name;
    EXPECT_FALSE(key.help.empty()) << key.name;
  }
}

TEST(Config, AMisspelledSettingInTheEnvironmentIsRefusedNamingTheSetting) {
  auto refusal = [](const std::string& name) -> std::string {
    try {
      app::refuse_misspelled_env({"PATH", "ORDERD_LISTEN", name});
      return "";
    } catch (const app::ConfigError& e) {
      return e.what();
    }
  };
  EXPECT_EQ(refusal("ORDERD_DATABASE_URl"), "ORDERD_DATABASE_URl is not a setting; did you mean ORDERD_DATABASE_URL?");
  EXPECT_NE(refusal("ORDERD_DATABSE_URL").find("ORDERD_DATABASE_URL?"), std::string::npos);
  EXPECT_NE(refusal("ORDERD_JWT_SECRETS").find("ORDERD_JWT_SECRET?"), std::string::npos);
  EXPECT_NE(refusal("ORDERD_ENVV").find("ORDERD_ENV?"), std::string::npos);
  // Every setting spelled right, and the names the project's own tools and tests set, pass.
  for (const auto& key : app::config_keys()) EXPECT_EQ(refusal(key.env), "") << key.env;
  for (const char* tool : {"ORDERD_BIN", "ORDERD_TEST_DB", "ORDERD_TESTS", "ORDERD_FUZZ", "ORDERD_FUZZ_TARGETS",
                           "ORDERD_SANITIZE", "ORDERD_TSAN", "ORDERD_PG_BIN", "ORDERD_SOURCE_DIR", "ORDERD_DOCKER_CACHE",
                           "ORDERD_", "ORDERD_SOMETHING_ELSE", "orderd_listen", "XORDERD_LISTEN"}) {
    EXPECT_EQ(refusal(tool), "") << tool;
  }
}
