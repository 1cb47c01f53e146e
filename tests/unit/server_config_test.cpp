// The memory budgets are checked at start: a configuration under which some
// message could never be sent, or never fit the stream budget, is refused with
// the setting named.

#include <gtest/gtest.h>

#include <string>

#include "app/server.h"

namespace messaging::app {
namespace {

ServerConfig Valid() {
  ServerConfig config;
  config.database_url = "postgresql://localhost/none";
  config.jwt.secret = "server-config-test-secret-0123456789abcdef";
  return config;
}

void ExpectRefused(const ServerConfig& config, const std::string& setting) {
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << setting;
  EXPECT_NE(std::string(status.message()).find(setting), std::string::npos) << status.message();
}

TEST(ServerConfigTest, TheDefaultBudgetsAreValid) { EXPECT_TRUE(ValidateConfig(Valid()).ok()); }

TEST(ServerConfigTest, TheSendLimitMustHoldTheLargestMessage) {
  ServerConfig config = Valid();
  config.max_send_message_bytes = 512 * 1024;  // Below 64 KiB content plus two large Structs.
  ExpectRefused(config, "MESSAGING_MAX_SEND_BYTES");
  config = Valid();
  config.limits.max_content_bytes = 8 * 1024 * 1024;  // Larger content needs a larger send limit.
  ExpectRefused(config, "MESSAGING_MAX_SEND_BYTES");
  config.max_send_message_bytes = 16 * 1024 * 1024;
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(ServerConfigTest, TheStreamBudgetMustHoldAnyOneEvent) {
  ServerConfig config = Valid();
  config.stream_memory_bytes = 512 * 1024;
  ExpectRefused(config, "MESSAGING_STREAM_MEMORY_BYTES");
  config = Valid();
  config.stream_queue_bytes = config.stream_memory_bytes + 1;
  ExpectRefused(config, "MESSAGING_STREAM_MEMORY_BYTES");
}

TEST(ServerConfigTest, OtherBudgetsMustBeUsable) {
  ServerConfig config = Valid();
  config.limits.max_page_bytes = 10;
  ExpectRefused(config, "MESSAGING_MAX_PAGE_BYTES");
  config = Valid();
  config.stream_read_bytes = 0;
  ExpectRefused(config, "MESSAGING_STREAM_READ_BYTES");
  config = Valid();
  config.max_streams_per_distributor = 0;
  ExpectRefused(config, "MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR");
  config = Valid();
  config.stream_stall_timeout = absl::Milliseconds(100);
  ExpectRefused(config, "MESSAGING_STREAM_STALL_SECONDS");
}

// One distributor's calls at once: half the pool, and no more than two per
// serving thread, unless set.
TEST(ServerConfigTest, TenantConcurrencyIsHalfThePoolAtMostTwoPerServingThread) {
  ServerConfig config = Valid();
  config.pool_size = 8;
  config.serving_threads = 2;
  EXPECT_EQ(TenantConcurrency(config), 4);
  config.pool_size = 32;
  EXPECT_EQ(TenantConcurrency(config), 4);  // Bounded by the cores, not the pool.
  config.serving_threads = 8;
  EXPECT_EQ(TenantConcurrency(config), 16);
  config.pool_size = 6;
  EXPECT_EQ(TenantConcurrency(config), 3);
  config.pool_size = 1;
  EXPECT_EQ(TenantConcurrency(config), 1);
  config.tenant_concurrency = 40;
  EXPECT_EQ(TenantConcurrency(config), 40);
}

}  // namespace
}  // namespace messaging::app
