#pragma once

// Structured logging: one line per event, JSON by default (for log pipelines)
// or plain text (for a terminal). Thin wrapper over spdlog.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// Lets log calls format absl::string_view (Debian's Abseil does not alias it
// to std::string_view).
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace messaging::log {

enum class Format { kJson, kText };

// Level: trace|debug|info|warn|error. INVALID_ARGUMENT for anything else.
absl::Status Init(absl::string_view level, Format format);

// Whether a line at `level` would be written.
bool Enabled(spdlog::level::level_enum level);

// Writes `message` with extra key/value `fields` (a JSON object).
void Write(spdlog::level::level_enum level, absl::string_view message,
           const nlohmann::json& fields = nlohmann::json::object());

template <typename... Args>
void Info(fmt::format_string<Args...> format, Args&&... args) {
  Write(spdlog::level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> format, Args&&... args) {
  Write(spdlog::level::warn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(fmt::format_string<Args...> format, Args&&... args) {
  Write(spdlog::level::err, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(fmt::format_string<Args...> format, Args&&... args) {
  Write(spdlog::level::debug, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace messaging::log
