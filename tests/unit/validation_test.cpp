#include "domain/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr char kUuid[] = "123e4567-e89b-12d3-a456-426614174000";

// ---- ParseUuid --------------------------------------------------------------

TEST(ParseUuidTest, AcceptsCanonicalLowerCaseUuid) {
  const auto parsed = ParseUuid(kUuid, "id");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, kUuid);
}

TEST(ParseUuidTest, NormalisesUpperCaseToLowerCase) {
  const auto parsed = ParseUuid("123E4567-E89B-12D3-A456-42661417400F", "id");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, "123e4567-e89b-12d3-a456-42661417400f");
}

TEST(ParseUuidTest, EmptyIsRequiredAndNamesTheField) {
  EXPECT_THAT(ParseUuid("", "message.conversation_id"),
              StatusIs(kInvalid, "message.conversation_id: is required"));
}

TEST(ParseUuidTest, RejectsMalformedValuesNamingTheField) {
  const std::vector<std::string> bad = {
      "123e4567-e89b-12d3-a456-42661417400",                     // 35 chars
      "123e4567-e89b-12d3-a456-4266141740000",                   // 37 chars
      "{123e4567-e89b-12d3-a456-426614174000}",                  // braces
      "123e4567e89b12d3a456426614174000",                        // no dashes (32 chars)
      "123e4567e-89b-12d3-a456-426614174000",                    // dash moved right
      "123e456-7e89b-12d3-a456-426614174000",                    // dash moved left
      "123e4567-e89b-12d3-a4564-26614174000",                    // last dash misplaced
      "123e4567+e89b-12d3-a456-426614174000",                    // not a dash
      "123e4567-e89b-12d3-a456-42661417400g",                    // non-hex
      "123e4567-e89b-12d3-a456-4266141740 0",                    // space
      "z23e4567-e89b-12d3-a456-426614174000",                    // non-hex first char
      std::string("123e4567-e89b-12d3-a456-42661417400\0", 36),  // NUL byte
      "------------------------------------",                    // only dashes
      "123e4567-e89b-12d3-a456-426614174000\n",                  // trailing newline
  };
  for (const auto& value : bad) {
    SCOPED_TRACE(value);
    EXPECT_THAT(ParseUuid(value, "customer_id"), StatusIs(kInvalid, "customer_id: must be a UUID"));
  }
}

TEST(ParseOptionalUuidTest, EmptyIsAllowed) {
  const auto parsed = ParseOptionalUuid("", "id");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, "");
}

TEST(ParseOptionalUuidTest, NonEmptyIsValidatedAndNormalised) {
  EXPECT_THAT(ParseOptionalUuid("nope", "filter.id"), StatusIs(kInvalid, "filter.id"));
  const auto parsed = ParseOptionalUuid("123E4567-E89B-12D3-A456-426614174000", "id");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, kUuid);
}

// ---- CheckText / IsValidUtf8 -------------------------------------------------

struct Utf8Case {
  const char* name;
  std::string bytes;
};

std::string CaseName(const ::testing::TestParamInfo<Utf8Case>& param_info) {
  return param_info.param.name;
}

class ValidUtf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(ValidUtf8Test, IsAccepted) {
  EXPECT_TRUE(IsValidUtf8(GetParam().bytes));
  EXPECT_THAT(CheckText(GetParam().bytes, "message.content", 1024), IsOk());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidUtf8Test,
    ::testing::Values(
        Utf8Case{"Empty", ""}, Utf8Case{"Ascii", "hello, world"}, Utf8Case{"MaxAscii", "\x7F"},
        Utf8Case{"TwoByteMin", "\xC2\x80"}, Utf8Case{"TwoByteMax", "\xDF\xBF"},
        Utf8Case{"ThreeByteMin", "\xE0\xA0\x80"}, Utf8Case{"BeforeSurrogates", "\xED\x9F\xBF"},
        Utf8Case{"AfterSurrogates", "\xEE\x80\x80"}, Utf8Case{"ThreeByteMax", "\xEF\xBF\xBF"},
        Utf8Case{"FourByteMin", "\xF0\x90\x80\x80"}, Utf8Case{"MaxCodePoint", "\xF4\x8F\xBF\xBF"},
        Utf8Case{"Emoji", "\xF0\x9F\x98\x80"},
        Utf8Case{"FamilyEmojiZwj",
                 "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F"
                 "\x91\xA7"},
        Utf8Case{"Mixed", "caf\xC3\xA9 \xE2\x82\xAC 5 \xF0\x9F\x8D\xB0"}),
    CaseName);

class InvalidUtf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(InvalidUtf8Test, IsRejectedNamingTheField) {
  EXPECT_FALSE(IsValidUtf8(GetParam().bytes));
  EXPECT_THAT(CheckText(GetParam().bytes, "message.content", 1024),
              StatusIs(kInvalid, "message.content: is not valid UTF-8"));
  // Also when surrounded by valid text.
  EXPECT_FALSE(IsValidUtf8("ok " + GetParam().bytes + " ok"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidUtf8Test,
    ::testing::Values(Utf8Case{"LoneContinuation", "\x80"}, Utf8Case{"LoneContinuationBF", "\xBF"},
                      Utf8Case{"OverlongNulC080", "\xC0\x80"}, Utf8Case{"OverlongC1BF", "\xC1\xBF"},
                      Utf8Case{"OverlongThreeByteE08080", "\xE0\x80\x80"},
                      Utf8Case{"OverlongThreeByteE09FBF", "\xE0\x9F\xBF"},
                      Utf8Case{"OverlongFourByteF0808080", "\xF0\x80\x80\x80"},
                      Utf8Case{"OverlongFourByteF08FBFBF", "\xF0\x8F\xBF\xBF"},
                      Utf8Case{"HighSurrogateEDA080", "\xED\xA0\x80"},
                      Utf8Case{"LowSurrogateEDBFBF", "\xED\xBF\xBF"},
                      Utf8Case{"AboveMaxF4908080", "\xF4\x90\x80\x80"},
                      Utf8Case{"LeadF5", "\xF5\x80\x80\x80"}, Utf8Case{"LeadFE", "\xFE"},
                      Utf8Case{"LeadFF", "\xFF"}, Utf8Case{"TruncatedTwoByte", "\xC3"},
                      Utf8Case{"TruncatedThreeByte", "\xE2\x82"},
                      Utf8Case{"TruncatedFourByte", "\xF0\x9F\x98"},
                      Utf8Case{"TwoByteThenAscii", "\xC3\x41"},
                      Utf8Case{"ThreeByteBadSecond", "\xE2\x28\xA1"},
                      Utf8Case{"ThreeByteBadThird", "\xE2\x82\x28"},
                      Utf8Case{"FourByteBadFourth", "\xF0\x9F\x98\x41"}),
    CaseName);

TEST(CheckTextTest, TruncatedSequenceAtTheVeryEndIsRejected) {
  // The sequence's declared length runs past the end of the buffer.
  const std::string text = "abc\xF0\x9F";
  EXPECT_THAT(CheckText(text, "content", 100), StatusIs(kInvalid, "content: is not valid UTF-8"));
}

TEST(CheckTextTest, NulByteIsRejected) {
  const std::string text("before\0after", 12);
  EXPECT_THAT(CheckText(text, "message.ai_summary", 100),
              StatusIs(kInvalid, "message.ai_summary: contains a NUL byte"));
  EXPECT_THAT(CheckText(std::string(1, '\0'), "f", 100), StatusIs(kInvalid, "f: contains a NUL"));
}

TEST(CheckTextTest, LengthLimitIsInclusiveAndCountsBytes) {
  EXPECT_THAT(CheckText(std::string(10, 'a'), "field", 10), IsOk());
  EXPECT_THAT(CheckText(std::string(11, 'a'), "field", 10),
              StatusIs(kInvalid, "field: is longer than 10 bytes"));
  // Five two-byte characters are 10 bytes, six are 12.
  std::string five;
  for (int i = 0; i < 5; ++i) five += "\xC3\xA9";
  EXPECT_THAT(CheckText(five, "field", 10), IsOk());
  EXPECT_THAT(CheckText(five + "\xC3\xA9", "field", 10), StatusIs(kInvalid, "field"));
  EXPECT_THAT(CheckText("", "field", 0), IsOk());
  EXPECT_THAT(CheckText("a", "field", 0), StatusIs(kInvalid, "field"));
}

// ---- Preview ----------------------------------------------------------------

// Number of code points in valid UTF-8.
std::size_t CodePoints(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

TEST(PreviewTest, CutsAtCodePointsNotBytes) {
  EXPECT_EQ(Preview("h\xC3\xA9llo", 2), "h\xC3\xA9");
  EXPECT_EQ(Preview("\xF0\x9F\x98\x80\xF0\x9F\x98\x81\xF0\x9F\x98\x82", 2),
            "\xF0\x9F\x98\x80\xF0\x9F\x98\x81");
  EXPECT_EQ(Preview("\xE2\x82\xAC\xE2\x82\xAC", 1), "\xE2\x82\xAC");
}

TEST(PreviewTest, ShortTextIsReturnedWhole) {
  EXPECT_EQ(Preview("hi", 120), "hi");
  EXPECT_EQ(Preview("", 120), "");
  EXPECT_EQ(Preview("exact", 5), "exact");
}

TEST(PreviewTest, ZeroCharsIsEmpty) { EXPECT_EQ(Preview("hello", 0), ""); }

TEST(PreviewTest, NeverSplitsAMultiByteCharacterAtAnyLength) {
  const std::string text =
      "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xF4\x8F\xBF\xBF\xED\x9F\xBF"
      "b";
  ASSERT_TRUE(IsValidUtf8(text));
  const std::size_t total = CodePoints(text);
  for (std::size_t n = 0; n <= total + 2; ++n) {
    SCOPED_TRACE(n);
    const std::string preview = Preview(text, n);
    EXPECT_TRUE(IsValidUtf8(preview));
    EXPECT_EQ(CodePoints(preview), std::min(n, total));
    EXPECT_EQ(text.compare(0, preview.size(), preview), 0) << "preview is a prefix";
  }
}

TEST(PreviewTest, InvalidInputDoesNotReadPastTheEnd) {
  // A truncated lead byte at the end: the result is at most the whole input.
  EXPECT_EQ(Preview("ab\xF0\x9F", 10), "ab\xF0\x9F");
  EXPECT_EQ(Preview("\xFF\xFF\xFF", 2), "\xFF\xFF");
}

// ---- ValidateNewMessage -----------------------------------------------------

NewMessage TextMessage(std::string content) {
  NewMessage m;
  m.conversation_id = kUuid;
  m.direction = Direction::kInbound;
  m.message_type = MessageType::kText;
  m.content = std::move(content);
  return m;
}

TEST(ValidateNewMessageTest, TextMessageWithContentIsValid) {
  EXPECT_THAT(ValidateNewMessage(TextMessage("hello"), Limits{}), IsOk());
}

TEST(ValidateNewMessageTest, TextMessageNeedsContent) {
  EXPECT_THAT(ValidateNewMessage(TextMessage(""), Limits{}),
              StatusIs(kInvalid, "message.content: is required"));
}

TEST(ValidateNewMessageTest, UnsetTypeIsTreatedAsTextAndNeedsContent) {
  NewMessage m = TextMessage("");
  m.message_type.reset();
  EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.content"));
}

TEST(ValidateNewMessageTest, MediaAudioAndFileNeedMediaUrl) {
  for (const MessageType type : {MessageType::kMedia, MessageType::kAudio, MessageType::kFile}) {
    SCOPED_TRACE(ToDb(type));
    NewMessage m = TextMessage("");
    m.message_type = type;
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.media_url"));
    m.content = "a caption does not replace the url";
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.media_url"));
    m.media_url = "https://example.com/a.jpg";
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), IsOk());
    m.content.clear();
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), IsOk()) << "media needs no content";
  }
}

TEST(ValidateNewMessageTest, ContentLimitIs64KiB) {
  const Limits limits;
  ASSERT_EQ(limits.max_content_bytes, 64u * 1024u);
  EXPECT_THAT(ValidateNewMessage(TextMessage(std::string(64 * 1024, 'x')), limits), IsOk());
  EXPECT_THAT(ValidateNewMessage(TextMessage(std::string(64 * 1024 + 1, 'x')), limits),
              StatusIs(kInvalid, "message.content: is longer than 65536 bytes"));
}

TEST(ValidateNewMessageTest, ContentLimitIsConfigurable) {
  Limits limits;
  limits.max_content_bytes = 4;
  EXPECT_THAT(ValidateNewMessage(TextMessage("abcd"), limits), IsOk());
  EXPECT_THAT(ValidateNewMessage(TextMessage("abcde"), limits),
              StatusIs(kInvalid, "message.content"));
}

TEST(ValidateNewMessageTest, InvalidContentIsRejected) {
  EXPECT_THAT(ValidateNewMessage(TextMessage("bad \xC0\x80"), Limits{}),
              StatusIs(kInvalid, "message.content: is not valid UTF-8"));
  EXPECT_THAT(ValidateNewMessage(TextMessage(std::string("a\0b", 3)), Limits{}),
              StatusIs(kInvalid, "message.content: contains a NUL byte"));
}

TEST(ValidateNewMessageTest, EveryTextFieldIsCheckedUnderItsOwnName) {
  const std::string too_long(4 * 1024 + 1, 'x');
  const std::string bad_utf8 = "\xED\xA0\x80";
  struct Case {
    const char* field;
    std::string NewMessage::*member;
  };
  const Case cases[] = {
      {"message.media_url", &NewMessage::media_url},
      {"message.media_content_type", &NewMessage::media_content_type},
      {"message.external_message_id", &NewMessage::external_message_id},
      {"message.error_code", &NewMessage::error_code},
      {"message.error_message", &NewMessage::error_message},
      {"message.ai_intent", &NewMessage::ai_intent},
      {"message.ai_sentiment", &NewMessage::ai_sentiment},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field);
    NewMessage m = TextMessage("hi");
    m.*c.member = std::string(4 * 1024, 'x');
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), IsOk());
    m.*c.member = too_long;
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, c.field));
    m.*c.member = bad_utf8;
    EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, c.field));
  }
}

TEST(ValidateNewMessageTest, SummaryAndJsonFieldsHaveTheirOwnLimits) {
  NewMessage m = TextMessage("hi");
  m.ai_summary = std::string(16 * 1024, 's');
  EXPECT_THAT(ValidateNewMessage(m, Limits{}), IsOk());
  m.ai_summary += 's';
  EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.ai_summary"));

  m = TextMessage("hi");
  m.ai_extracted_data_json = "{\"bad\":\"\xFF\"}";
  EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.ai_extracted_data"));

  m = TextMessage("hi");
  m.metadata_json = std::string(64 * 1024 + 1, ' ');
  EXPECT_THAT(ValidateNewMessage(m, Limits{}), StatusIs(kInvalid, "message.metadata"));
}

// ---- Patches ----------------------------------------------------------------

TEST(ValidateMessagePatchTest, EmptyPatchIsValid) {
  EXPECT_THAT(ValidateMessagePatch(MessagePatch{}, Limits{}), IsOk());
}

TEST(ValidateMessagePatchTest, ClearingExtractedDataIsValid) {
  MessagePatch p;
  p.ai_extracted_data_json.emplace();  // Set to NULL.
  EXPECT_THAT(ValidateMessagePatch(p, Limits{}), IsOk());
}

TEST(ValidateMessagePatchTest, EachSetFieldIsCheckedUnderItsOwnName) {
  const std::string bad = "x\xC0\x80";
  struct Case {
    const char* field;
    void (*set)(MessagePatch&, const std::string&);
  };
  const Case cases[] = {
      {"message.error_code", [](MessagePatch& p, const std::string& v) { p.error_code = v; }},
      {"message.error_message", [](MessagePatch& p, const std::string& v) { p.error_message = v; }},
      {"message.ai_intent", [](MessagePatch& p, const std::string& v) { p.ai_intent = v; }},
      {"message.ai_sentiment", [](MessagePatch& p, const std::string& v) { p.ai_sentiment = v; }},
      {"message.ai_summary", [](MessagePatch& p, const std::string& v) { p.ai_summary = v; }},
      {"message.ai_extracted_data",
       [](MessagePatch& p, const std::string& v) { p.ai_extracted_data_json.emplace(v); }},
      {"message.metadata", [](MessagePatch& p, const std::string& v) { p.metadata_json = v; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field);
    MessagePatch p;
    c.set(p, "fine");
    EXPECT_THAT(ValidateMessagePatch(p, Limits{}), IsOk());
    c.set(p, bad);
    EXPECT_THAT(ValidateMessagePatch(p, Limits{}), StatusIs(kInvalid, c.field));
  }
}

TEST(ValidateMessagePatchTest, LengthLimitsApply) {
  MessagePatch p;
  p.error_code = std::string(4 * 1024, 'e');
  EXPECT_THAT(ValidateMessagePatch(p, Limits{}), IsOk());
  p.error_code->push_back('e');
  EXPECT_THAT(ValidateMessagePatch(p, Limits{}),
              StatusIs(kInvalid, "message.error_code: is longer than 4096 bytes"));

  MessagePatch q;
  q.ai_summary = std::string(16 * 1024 + 1, 's');
  EXPECT_THAT(ValidateMessagePatch(q, Limits{}), StatusIs(kInvalid, "message.ai_summary"));
}

TEST(ValidateConversationPatchTest, EmptyPatchIsValid) {
  EXPECT_THAT(ValidateConversationPatch(ConversationPatch{}, Limits{}), IsOk());
}

TEST(ValidateConversationPatchTest, SummaryIsCheckedForLengthAndEncoding) {
  ConversationPatch p;
  p.ai_context_summary = std::string(16 * 1024, 's');
  EXPECT_THAT(ValidateConversationPatch(p, Limits{}), IsOk());
  p.ai_context_summary->push_back('s');
  EXPECT_THAT(ValidateConversationPatch(p, Limits{}),
              StatusIs(kInvalid, "conversation.ai_context_summary: is longer than"));
  p.ai_context_summary = "\xF4\x90\x80\x80";
  EXPECT_THAT(ValidateConversationPatch(p, Limits{}),
              StatusIs(kInvalid, "conversation.ai_context_summary"));
}

TEST(ValidateConversationPatchTest, MetadataIsChecked) {
  ConversationPatch p;
  p.metadata_json = std::string("{\"a\":\"\0\"}", 9);
  EXPECT_THAT(ValidateConversationPatch(p, Limits{}),
              StatusIs(kInvalid, "conversation.metadata: contains a NUL byte"));
  p.metadata_json = "{}";
  EXPECT_THAT(ValidateConversationPatch(p, Limits{}), IsOk());
}

TEST(ValidateNewConversationTest, ChecksSummaryAndMetadata) {
  NewConversation c;
  c.customer_id = kUuid;
  c.channel = Channel::kSms;
  EXPECT_THAT(ValidateNewConversation(c, Limits{}), IsOk());
  c.ai_context_summary = "\x80";
  EXPECT_THAT(ValidateNewConversation(c, Limits{}),
              StatusIs(kInvalid, "conversation.ai_context_summary"));
  c.ai_context_summary.clear();
  c.metadata_json = std::string(64 * 1024 + 1, ' ');
  EXPECT_THAT(ValidateNewConversation(c, Limits{}), StatusIs(kInvalid, "conversation.metadata"));
}

}  // namespace
}  // namespace messaging::domain
