#pragma once

// A generated gRPC service with every method marked "raw": requests arrive as
// bytes and responses leave as bytes. The transport parses and serializes
// them itself (transport/request_parser.h), so a request protobuf refuses
// (invalid UTF-8 in a string field) gets INVALID_ARGUMENT naming the field
// instead of the INTERNAL "unable to parse request" gRPC would send before
// any handler runs.

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/async_stream.h>
#include <grpcpp/support/async_unary_call.h>

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace messaging::transport {

// `GeneratedService` is the generated `Foo::Service` (its synchronous base):
// marking its methods raw drops the synchronous handlers.
template <typename GeneratedService, typename Owner>
class RawService final : public GeneratedService {
 public:
  RawService() {
    for (int i = 0; i < Descriptor().method_count(); ++i) this->MarkMethodRaw(i);
  }

  // The protobuf descriptor of the service (for method indexes and names).
  static const google::protobuf::ServiceDescriptor& Descriptor() {
    return *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        std::string(Owner::service_full_name()));
  }

  // The index gRPC gives method `name` (proto declaration order); -1 if none.
  static int MethodIndex(absl::string_view name) {
    const auto* method = Descriptor().FindMethodByName(std::string(name));
    return method == nullptr ? -1 : method->index();
  }

  void RequestUnary(int index, grpc::ServerContext* context, grpc::ByteBuffer* request,
                    grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* writer,
                    grpc::ServerCompletionQueue* cq, void* tag) {
    this->RequestAsyncUnary(index, context, request, writer, cq, cq, tag);
  }

  void RequestServerStreaming(int index, grpc::ServerContext* context, grpc::ByteBuffer* request,
                              grpc::ServerAsyncWriter<grpc::ByteBuffer>* writer,
                              grpc::ServerCompletionQueue* cq, void* tag) {
    this->RequestAsyncServerStreaming(index, context, request, writer, cq, cq, tag);
  }
};

// Asks for the next call of one server-streaming raw method; what a streaming
// method needs of its service.
using StreamingRequest = std::function<void(grpc::ServerContext*, grpc::ByteBuffer*,
                                            grpc::ServerAsyncWriter<grpc::ByteBuffer>*,
                                            grpc::ServerCompletionQueue*, void*)>;

template <typename Service>
StreamingRequest RequestStreamOf(Service* service, int index) {
  return [service, index](grpc::ServerContext* context, grpc::ByteBuffer* request,
                          grpc::ServerAsyncWriter<grpc::ByteBuffer>* writer,
                          grpc::ServerCompletionQueue* cq, void* tag) {
    service->RequestServerStreaming(index, context, request, writer, cq, tag);
  };
}

}  // namespace messaging::transport
