#pragma once

// Requests and responses of raw methods (transport/raw_service.h): bytes to
// protobuf and back, with refusals explained in the caller's terms.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace messaging::transport {

// Parses `bytes` into `request`. When protobuf refuses them: INVALID_ARGUMENT
// naming the string field that holds invalid UTF-8 (e.g.
// "message.content: is not valid UTF-8"), or saying the request is not a
// well-formed protobuf (truncated, nested too deep, wrong wire types).
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request);

// `response` as bytes for a raw writer.
grpc::ByteBuffer SerializeResponse(const google::protobuf::Message& response);

// The dotted path of the first string field in `wire` (a serialized
// `message`) that is not valid UTF-8, with map entries as "field.key" /
// "field.value"; nullopt when every string is valid or the bytes are not a
// well-formed protobuf.
std::optional<std::string> FindInvalidUtf8Field(const google::protobuf::Descriptor& message,
                                                absl::string_view wire);

}  // namespace messaging::transport
