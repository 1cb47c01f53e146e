#pragma once

// Reads one StreamMessages call on a thread of its own and keeps every event,
// so tests can wait for what they expect and then look at the whole sequence.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "messaging/v1/messaging.grpc.pb.h"
#include "support/test_server.h"

namespace messaging::testing {

class StreamCollector {
 public:
  StreamCollector(v1::MessagingService::Stub& stub, const std::string& distributor,
                  const v1::StreamMessagesRequest& request) {
    context_.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
    reader_ = stub.StreamMessages(&context_, request);
    thread_ = std::thread([this] {
      v1::MessageEvent event;
      while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(event);
        changed_.notify_all();
      }
      const grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      done_ = true;
      changed_.notify_all();
    });
  }

  ~StreamCollector() { Cancel(); }

  void Cancel() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  // Waits until `predicate(events)` holds or the stream ends; false on timeout.
  bool WaitFor(const std::function<bool(const std::vector<v1::MessageEvent>&)>& predicate,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return predicate(events_) || done_; }) &&
           predicate(events_);
  }

  // A heartbeat arrived: the stream is registered, so every later change
  // reaches it (the servers in tests send heartbeats often).
  bool WaitLive(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return WaitFor(
        [](const std::vector<v1::MessageEvent>& events) {
          for (const auto& e : events) {
            if (e.type() == v1::MESSAGE_EVENT_TYPE_HEARTBEAT) return true;
          }
          return false;
        },
        timeout);
  }

  // Events other than heartbeats.
  std::vector<v1::MessageEvent> Changes() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<v1::MessageEvent> out;
    for (const auto& e : events_) {
      if (e.type() != v1::MESSAGE_EVENT_TYPE_HEARTBEAT) out.push_back(e);
    }
    return out;
  }

  bool WaitForChanges(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitFor(
        [n](const std::vector<v1::MessageEvent>& events) {
          std::size_t changes = 0;
          for (const auto& e : events) changes += e.type() != v1::MESSAGE_EVENT_TYPE_HEARTBEAT;
          return changes >= n;
        },
        timeout);
  }

  // Waits until the CREATED event of `message_id` arrived. Streams deliver in
  // log order, so a marker written after an action proves that every event
  // of that action which was going to arrive has arrived.
  bool WaitForMessage(const std::string& message_id,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitFor(
        [&message_id](const std::vector<v1::MessageEvent>& events) {
          for (const auto& e : events) {
            if (e.type() == v1::MESSAGE_EVENT_TYPE_CREATED && e.message().id() == message_id)
              return true;
          }
          return false;
        },
        timeout);
  }

  // Waits for the stream to end and returns its status.
  grpc::Status WaitDone(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, timeout, [&] { return done_; });
    return done_ ? status_ : grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "still open");
  }

  std::string LastCursor() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.empty() ? "" : events_.back().cursor();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::MessageEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<v1::MessageEvent> events_;
  grpc::Status status_;
  bool done_ = false;
};

}  // namespace messaging::testing
