#include "app/logging.hpp"

#include "common/log_context.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace app {
namespace {

// Appends `text` to `dest` escaped for the inside of a JSON string.
void append_json_escaped(std::string_view text, spdlog::memory_buf_t& dest) {
    for (char c : text) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
}

// %* in a pattern: the message, escaped for a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append_json_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

// %& in a pattern: ,"request_id":…,"route":…,"user_id":… for a line written while serving a request.
class JsonRequestFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto* context = common::current_log_context();
    if (context == nullptr) return;
    dest.append(std::string_view(",\"request_id\":\""));
    append_json_escaped(context->request_id, dest);
    dest.append(std::string_view("\",\"route\":\""));
    append_json_escaped(context->route, dest);
    dest.append(std::string_view("\""));
    if (context->user_id != 0) {
      dest.append(std::string_view(",\"user_id\":"));
      auto id = std::to_string(context->user_id);
      dest.append(std::string_view(id));
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonRequestFields>(); }
};

}  // namespace

void init_logging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>("orderd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessage>('*').add_flag<JsonRequestFields>('&').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"%&})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace app
