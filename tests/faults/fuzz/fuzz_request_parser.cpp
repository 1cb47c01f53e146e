// Fuzzes the raw request parser (transport/request_parser.h) with arbitrary
// bytes as a CreateMessageRequest, the request with the deepest strings (its
// metadata and ai_extracted_data are google.protobuf.Struct: maps of nested
// values):
//   * ParseRequest accepts exactly what protobuf's own parser accepts;
//   * FindInvalidUtf8Field never names a field in bytes protobuf accepts, and
//     what it names is a dotted path to a string field of the request;
//   * it names one whenever the refusal is down to UTF-8 alone: the bytes
//     parse once every string field is declared `bytes` instead;
//   * a refusal names that field ("<path>: is not valid UTF-8"), or else says
//     the request is not well-formed.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "messaging/v1/messaging.pb.h"
#include "transport/request_parser.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::DescriptorProto;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using messaging::v1::CreateMessageRequest;

void Check(bool condition) {
  if (!condition) std::abort();
}

// Whether `path` ("message.metadata.fields.key") leads from `message` through
// message fields to a string field.
bool IsStringFieldPath(const Descriptor& message, const std::string& path) {
  const std::vector<std::string> names = absl::StrSplit(path, '.');
  const Descriptor* at = &message;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const FieldDescriptor* field = at->FindFieldByName(names[i]);
    if (field == nullptr) return false;
    if (i + 1 == names.size()) return field->type() == FieldDescriptor::TYPE_STRING;
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) return false;
    at = field->message_type();
  }
  return false;
}

// CreateMessageRequest with every string field declared `bytes` (and map
// entries as plain repeated messages, since a map key cannot be bytes): the
// same wire format without protobuf's UTF-8 checks.
class Utf8BlindRequest {
 public:
  Utf8BlindRequest() {
    Add(*CreateMessageRequest::descriptor()->file());
    prototype_ = factory_.GetPrototype(
        pool_.FindMessageTypeByName(CreateMessageRequest::descriptor()->full_name()));
    Check(prototype_ != nullptr);
  }

  bool Parses(const std::string& wire) const {
    std::unique_ptr<google::protobuf::Message> message(prototype_->New());
    return message->ParseFromString(wire);
  }

 private:
  void Add(const FileDescriptor& file) {
    if (pool_.FindFileByName(file.name()) != nullptr) return;
    for (int i = 0; i < file.dependency_count(); ++i) Add(*file.dependency(i));
    FileDescriptorProto proto;
    file.CopyTo(&proto);
    for (auto& message : *proto.mutable_message_type()) Blind(&message);
    Check(pool_.BuildFile(proto) != nullptr);
  }

  static void Blind(DescriptorProto* message) {
    message->mutable_options()->clear_map_entry();
    for (auto& field : *message->mutable_field()) {
      if (field.type() == FieldDescriptorProto::TYPE_STRING) {
        field.set_type(FieldDescriptorProto::TYPE_BYTES);
      }
    }
    for (auto& nested : *message->mutable_nested_type()) Blind(&nested);
  }

  DescriptorPool pool_;
  DynamicMessageFactory factory_{&pool_};
  const google::protobuf::Message* prototype_ = nullptr;
};

// Field-by-field equality in which a NaN equals a NaN: the wire may carry a
// NaN as a Struct number (the service refuses it later, in validation), and
// both parsers must keep it, but the default comparison finds NaN != NaN.
bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // protobuf logs every invalid string it parses: silence, not a finding.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string wire(reinterpret_cast<const char*>(data), size);
  const Descriptor& descriptor = *CreateMessageRequest::descriptor();

  CreateMessageRequest reference;
  const bool protobuf_accepts = reference.ParseFromString(wire);
  const auto invalid_field = messaging::transport::FindInvalidUtf8Field(descriptor, wire);
  if (protobuf_accepts) Check(!invalid_field.has_value());
  if (invalid_field) Check(IsStringFieldPath(descriptor, *invalid_field));
  static const Utf8BlindRequest utf8_blind;
  if (!protobuf_accepts && utf8_blind.Parses(wire)) Check(invalid_field.has_value());

  grpc::Slice slice(wire);
  const grpc::ByteBuffer bytes(&slice, 1);
  CreateMessageRequest request;
  const absl::Status status = messaging::transport::ParseRequest(bytes, &request);
  Check(status.ok() == protobuf_accepts);
  if (status.ok()) {
    Check(SameMessage(request, reference));
  } else {
    Check(status.code() == absl::StatusCode::kInvalidArgument);
    if (invalid_field) {
      Check(status.message() == *invalid_field + ": is not valid UTF-8");
    } else {
      Check(absl::StartsWith(status.message(), "request: is not a well-formed "));
    }
  }
  return 0;
}
