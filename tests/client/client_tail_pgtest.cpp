// The example consumer, built by client_install_test against the installed
// package, run against the real server.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "support/api_test.h"
#include "support/subprocess.h"

namespace messaging::testing {
namespace {

class TailApiTest : public ApiTest {};

TEST_F(TailApiTest, PrintsTheLastMessagesOldestFirst) {
  const std::string distributor = db().NewDistributor();
  const v1::Conversation conversation = CreateConversation(distributor, db().NewCustomer());
  CreateMessage(distributor, conversation.id(), "first");
  const v1::Message second = CreateMessage(distributor, conversation.id(), "second");
  const v1::Message third =
      CreateMessage(distributor, conversation.id(), "third", v1::DIRECTION_OUTBOUND);

  const auto result =
      RunCommand("timeout 60 " + ShellQuote(MESSAGING_TAIL_BINARY) + " --target " +
                 server().address() + " --token " + ShellQuote(TokenFor(distributor)) +
                 " --conversation " + conversation.id() + " --history 2 --count 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto second_at = result.output.find(second.id() + " <- second");
  const auto third_at = result.output.find(third.id() + " -> third");
  EXPECT_NE(second_at, std::string::npos) << result.output;
  EXPECT_NE(third_at, std::string::npos) << result.output;
  EXPECT_LT(second_at, third_at) << result.output;
  EXPECT_EQ(result.output.find("first"), std::string::npos) << result.output;
}

TEST_F(TailApiTest, PrintsTheHistoryThenLiveMessages) {
  const std::string distributor = db().NewDistributor();
  const v1::Conversation conversation = CreateConversation(distributor, db().NewCustomer());
  const v1::Message old = CreateMessage(distributor, conversation.id(), "an old message");
  const std::string command = "timeout 60 " + ShellQuote(MESSAGING_TAIL_BINARY) + " --target " +
                              server().address() + " --token " + ShellQuote(TokenFor(distributor)) +
                              " --conversation " + conversation.id() +
                              " --history 1 --count 3 2>&1";
  FILE* tail = popen(command.c_str(), "r");
  ASSERT_NE(tail, nullptr);
  std::vector<std::string> lines;
  char buffer[4096];
  // Once the history is out, the tail streams from its listing's cursor:
  // whatever is written from now on is printed.
  if (std::fgets(buffer, sizeof buffer, tail) != nullptr) lines.emplace_back(buffer);
  const v1::Message first = CreateMessage(distributor, conversation.id(), "live one");
  const v1::Message second =
      CreateMessage(distributor, conversation.id(), "live two", v1::DIRECTION_OUTBOUND);
  while (std::fgets(buffer, sizeof buffer, tail) != nullptr) lines.emplace_back(buffer);
  const int status = pclose(tail);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find(" old " + conversation.id() + " " + old.id() + " <- an old message"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find(" new " + conversation.id() + " " + first.id() + " <- live one"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find(" new " + conversation.id() + " " + second.id() + " -> live two"),
            std::string::npos)
      << lines[2];
}

TEST_F(TailApiTest, ReportsErrorsWithTheStatus) {
  const auto result = RunCommand(
      "timeout 60 " + ShellQuote(MESSAGING_TAIL_BINARY) + " --target " + server().address() +
      " --token not-a-jwt --conversation 3d3d3d3d-0000-4000-8000-000000000000");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("UNAUTHENTICATED"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace messaging::testing
