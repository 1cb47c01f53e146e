// Footprint counts everything a client can make large in a message.

#include "domain/footprint.h"

#include <gtest/gtest.h>

#include <string>

namespace messaging::domain {
namespace {

TEST(FootprintTest, GrowsWithEveryStringAClientWrites) {
  const Message empty;
  const std::size_t base = Footprint(empty);
  EXPECT_GE(base, sizeof(Message));

  Message m;
  m.content = std::string(1000, 'c');
  m.metadata_json = std::string(2000, 'm');
  m.ai_extracted_data_json = std::string(3000, 'a');
  m.ai_summary = std::string(400, 's');
  m.error_message = std::string(50, 'e');
  // metadata_json defaults to "{}" in `empty`.
  EXPECT_EQ(Footprint(m), base - 2 + 1000 + 2000 + 3000 + 400 + 50);
}

}  // namespace
}  // namespace messaging::domain
