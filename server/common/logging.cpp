#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace messaging::log {
namespace {

std::atomic<Format> g_format{Format::kText};

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("messaging");
    l->set_pattern("%v");  // We format whole lines ourselves.
    return l;
  }();
  return logger;
}

}  // namespace

absl::Status Init(absl::string_view level, Format format) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("log level: \"", level, "\" is not one of trace|debug|info|warn|error"));
  }
  g_format = format;
  Logger()->set_level(parsed);
  Logger()->flush_on(spdlog::level::info);
  return absl::OkStatus();
}

bool Enabled(spdlog::level::level_enum level) { return Logger()->should_log(level); }

void Write(spdlog::level::level_enum level, absl::string_view message,
           const nlohmann::json& fields) {
  const auto& logger = Logger();
  if (!logger->should_log(level)) return;
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const auto level_name = spdlog::level::to_string_view(level);
  if (g_format == Format::kJson) {
    nlohmann::json line = {{"time", time},
                           {"level", std::string(level_name.data(), level_name.size())},
                           {"msg", message}};
    if (fields.is_object()) line.update(fields);
    logger->log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string text = absl::StrCat(
      time, " ", absl::string_view(level_name.data(), level_name.size()), " ", message);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      absl::StrAppend(&text, " ", key, "=",
                      value.is_string()
                          ? value.get<std::string>()
                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  logger->log(level, "{}", text);
}

}  // namespace messaging::log
