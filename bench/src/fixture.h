#pragma once

// The fixture bench/run.sh writes: distributors with their tokens, and
// their conversations.

#include <string>
#include <vector>

namespace bench {

// Written by run.sh:
//   distributor <uuid> <token>
//   conversation <uuid> <distributor uuid>
struct Fixture {
  std::vector<std::string> distributors;
  std::vector<std::string> tokens;  // Same index as distributors.
  std::vector<std::string> conversations;
  std::vector<int> conversation_distributor;       // Index into distributors.
  std::vector<std::vector<int>> conversations_of;  // Per distributor.

  static Fixture Load(const std::string& path);
};

}  // namespace bench
