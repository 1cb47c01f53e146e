#include "cli.h"

#include <cstdio>
#include <cstdlib>

namespace bench {

void Die(const std::string& message) {
  std::fprintf(stderr, "messaging-bench: %s\n", message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // No destructors: calls or streams may still be in flight on gRPC's threads.
  std::_Exit(2);
}

Flags::Flags(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) Die("unexpected argument '" + arg + "' (flags are --name=value)");
    const auto eq = arg.find('=');
    if (eq == std::string::npos) {
      values_[arg.substr(2)] = "1";
    } else {
      values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    }
  }
}

std::string Flags::Str(const std::string& name, const std::string& fallback) {
  used_.insert(name);
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int64_t Flags::Int(const std::string& name, int64_t fallback) {
  const std::string v = Str(name, "");
  if (v.empty()) return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0') Die("--" + name + ": not an integer: " + v);
  return parsed;
}

double Flags::Double(const std::string& name, double fallback) {
  const std::string v = Str(name, "");
  if (v.empty()) return fallback;
  char* end = nullptr;
  const double parsed = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0') Die("--" + name + ": not a number: " + v);
  return parsed;
}

void Flags::CheckAllUsed() const {
  for (const auto& [name, value] : values_) {
    if (used_.count(name) == 0) Die("unknown flag --" + name + " for this mode");
  }
}

}  // namespace bench
