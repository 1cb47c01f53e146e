#pragma once

// The command line: `--name=value` flags, and the fatal-error exit every
// part of the tool uses.

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace bench {

// `--name=value` flags. Every flag given must be read by the mode, so typos fail.
class Flags {
 public:
  Flags(int argc, char** argv, int first);
  std::string Str(const std::string& name, const std::string& fallback);
  int64_t Int(const std::string& name, int64_t fallback);
  double Double(const std::string& name, double fallback);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Exits with an error naming any flag no mode asked for.
  void CheckAllUsed() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

// Prints `message` and exits with status 2 at once.
[[noreturn]] void Die(const std::string& message);

}  // namespace bench
