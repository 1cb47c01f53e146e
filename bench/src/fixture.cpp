#include "fixture.h"

#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "cli.h"

namespace bench {

Fixture Fixture::Load(const std::string& path) {
  if (path.empty()) Die("--fixture is required");
  std::ifstream in(path);
  if (!in) Die("cannot read fixture " + path);
  Fixture f;
  std::map<std::string, int> distributor_index;
  std::vector<std::pair<std::string, std::string>> conversations;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, a, b;
    if (!(words >> kind)) continue;
    words >> a >> b;
    if (a.empty() || b.empty()) Die("fixture: malformed line: " + line);
    if (kind == "distributor") {
      distributor_index[a] = static_cast<int>(f.distributors.size());
      f.distributors.push_back(a);
      f.tokens.push_back(b);
    } else if (kind == "conversation") {
      conversations.emplace_back(a, b);
    } else {
      Die("fixture: unknown line kind: " + kind);
    }
  }
  f.conversations_of.resize(f.distributors.size());
  for (const auto& [conversation, distributor] : conversations) {
    const auto it = distributor_index.find(distributor);
    if (it == distributor_index.end()) Die("fixture: no token for distributor " + distributor);
    f.conversations_of[static_cast<std::size_t>(it->second)].push_back(
        static_cast<int>(f.conversations.size()));
    f.conversations.push_back(conversation);
    f.conversation_distributor.push_back(it->second);
  }
  if (f.distributors.empty()) Die("fixture: no distributors in " + path);
  return f;
}

}  // namespace bench
