#pragma once

// RPCs on gRPC's asynchronous (completion-queue) API.
//
// A method listens on every completion queue with one pending request; when a
// call arrives, it immediately posts the next request on the same queue, so
// calls spread over the serving threads by the queue they arrived on. A unary
// call is authenticated on its queue thread (pure CPU), runs its body on the
// worker pool (the body may block in libpqxx), and finishes from there; the
// completion of Finish lands back on its queue, where the call is logged and
// freed. Requests arrive as bytes (transport/raw_service.h) and are parsed
// after authentication. Adding an RPC is one AddUnary entry
// (transport/messaging_service.cpp).

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/async_unary_call.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/executor.h"
#include "common/logging.h"
#include "domain/model.h"
#include "transport/call_handler.h"
#include "transport/completion_queues.h"
#include "transport/long_poll.h"
#include "transport/request_parser.h"

namespace messaging::transport {

// An RPC the server serves on every completion queue.
class AsyncMethod {
 public:
  virtual ~AsyncMethod() = default;
  // Waits for the next call of this method on `cq`.
  virtual void Listen(grpc::ServerCompletionQueue* cq) = 0;
};

// A unary call's response arena: the first block is small enough for the
// allocator's per-thread cache (most responses are one message), and a page
// of 50 messages takes a few blocks of up to 32 KiB.
inline google::protobuf::ArenaOptions ArenaOptionsForResponses() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 1024;
  options.max_block_size = 32 * 1024;
  return options;
}

// What every unary call shares.
struct UnaryEnvironment {
  const CallHandler* calls = nullptr;
  Executor* workers = nullptr;  // Runs bodies that touch the database.
  // Set when the server's drain deadline has passed: bodies that have not
  // started yet answer UNAVAILABLE instead of starting database work.
  const std::atomic<bool>* refusing = nullptr;
  // Parks long polls (AddLongPoll) until the replica learns of new events.
  LongPollWaiters* waiters = nullptr;
};

enum class Admission {
  kDistributor,          // Bearer token, rate limit, tenant context, call log; body on the workers.
  kWorker,               // The same with an AI worker token.
  kDistributorOrWorker,  // The same with either kind of token.
  kPublic,               // No token, no log; body inline on the queue thread (must not block).
};

// The tokens an authenticated admission takes.
constexpr Callers CallersOf(Admission admission) {
  switch (admission) {
    case Admission::kWorker:
      return Callers::kWorkers;
    case Admission::kDistributorOrWorker:
      return Callers::kEither;
    default:
      return Callers::kDistributors;
  }
}

// The request and response types of a body
// (const RequestContext&, const Request&, Response*) -> absl::Status.
template <typename F>
struct BodyTraits : BodyTraits<decltype(&F::operator())> {};
template <typename C, typename R, typename Req, typename Resp>
struct BodyTraits<R (C::*)(const domain::RequestContext&, const Req&, Resp*) const> {
  using Request = Req;
  using Response = Resp;
};

// `Service` is a RawService (transport/raw_service.h): the request arrives as
// bytes and is parsed here, after authentication, so a refusal can name the
// field at fault.
//
// A long poll's body returns a PollOutcome instead of a Status: while it is
// not ready the call parks (LongPollWaiters, no thread) and the body runs
// again on the next wake-up.
template <typename Service, typename Request, typename Response>
class UnaryMethod final : public AsyncMethod {
 public:
  using Body = std::function<absl::StatusOr<PollOutcome>(const domain::RequestContext&,
                                                         const Request&, Response*)>;

  UnaryMethod(Service* service, int index, const char* name, Admission admission, Body body,
              UnaryEnvironment env)
      : service_(service),
        index_(index),
        name_(name),
        admission_(admission),
        body_(std::move(body)),
        env_(env) {}

  void Listen(grpc::ServerCompletionQueue* cq) override {
    CompletionQueues::StartOperation(cq, [this, cq] { new Call(this, cq); });
  }

 private:
  class Call final : public CompletionTag {
   public:
    Call(UnaryMethod* method, grpc::ServerCompletionQueue* cq)
        : method_(method), cq_(cq), responder_(&context_) {
      method->service_->RequestUnary(method->index_, &context_, &raw_request_, &responder_, cq,
                                     this);
    }

    // A new, empty response; whatever the arena held is freed.
    Response* NewResponse() {
      arena_.Reset();
      return google::protobuf::Arena::CreateMessage<Response>(&arena_);
    }

    void OnComplete(bool ok) override {
      if (!started_) {
        if (!ok) {  // The server is shutting down: no call came.
          delete this;
          return;
        }
        started_ = true;
        method_->Listen(cq_);
        method_->Start(this);
        return;
      }
      delete this;  // Finish completed (ok = false: the client was gone).
    }

   private:
    friend class UnaryMethod;
    // The completion of a long poll's alarm: fired, or cancelled by a wake-up.
    class AlarmTag final : public CompletionTag {
     public:
      explicit AlarmTag(Call* call) : call_(call) {}
      void OnComplete(bool /*ok*/) override { call_->method_->Resume(call_); }

     private:
      Call* const call_;
    };

    UnaryMethod* const method_;
    grpc::ServerCompletionQueue* const cq_;
    grpc::ServerContext context_;
    grpc::ByteBuffer raw_request_;
    Request request_;
    // The response lives on an arena: a page of 50 messages is ~1,500
    // objects (strings, timestamps, Structs), allocated from a few blocks and
    // freed at once instead of one by one.
    google::protobuf::Arena arena_{ArenaOptionsForResponses()};
    Response* response_ = nullptr;  // Made afresh by each run of the body.
    grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
    bool started_ = false;
    absl::Time start_;
    std::string request_id_;
    domain::RequestContext ctx_;
    absl::Status status_;
    // Long polls only.
    std::unique_ptr<grpc::Alarm> alarm_;
    AlarmTag alarm_tag_{this};
    std::uint64_t generation_ = 0;
    absl::Time wait_end_ = absl::InfinitePast();  // Set by the first not-ready outcome.
  };

  void Start(Call* call) {
    call->start_ = absl::Now();
    if (admission_ != Admission::kPublic) {
      call->request_id_ = CallHandler::AssignRequestId(&call->context_);
      auto ctx = env_.calls->Admit(&call->context_, CallersOf(admission_));
      if (!ctx.ok()) {
        Complete(call, ctx.status());
        return;
      }
      call->ctx_ = *std::move(ctx);
    }
    if (auto parsed = ParseRequest(call->raw_request_, &call->request_); !parsed.ok()) {
      Complete(call, parsed);
      return;
    }
    call->raw_request_.Clear();
    if (admission_ == Admission::kPublic) {
      Complete(call, RunBody(call).status());
      return;
    }
    Dispatch(call);
  }

  // Runs the body on the workers, queued per distributor: the worker threads
  // take one call of each in turn, so a distributor's backlog delays only itself.
  void Dispatch(Call* call) {
    const bool queued = env_.workers->Post(CallHandler::FairnessKey(call->ctx_), [this, call] {
      if (env_.refusing->load()) {
        Complete(call, absl::UnavailableError("server shutting down; retry on another replica"));
      } else if (absl::Now() >= call->ctx_.deadline) {
        PassOnWakeUp(call);
        Complete(call, absl::DeadlineExceededError("deadline exceeded before the call started"));
      } else {
        if (env_.waiters != nullptr) call->generation_ = env_.waiters->generation();
        auto outcome = RunBody(call);
        if (!outcome.ok()) {
          PassOnWakeUp(call);
          Complete(call, outcome.status());
        } else if (outcome->ready || env_.waiters == nullptr) {
          // More work may be waiting: another parked call takes it.
          if (outcome->full && env_.waiters != nullptr) {
            env_.waiters->WakeAnother(call->ctx_.distributor_id);
          }
          Complete(call, absl::OkStatus());
        } else {
          Wait(call, *outcome);
        }
      }
    });
    if (!queued && env_.refusing->load()) {
      Complete(call, absl::UnavailableError("server shutting down; retry on another replica"));
    } else if (!queued) {
      PassOnWakeUp(call);
      absl::Status busy = absl::ResourceExhaustedError(
          "too many calls of this distributor are waiting; retry later");
      busy.SetPayload(kRetryDelayPayload, absl::Cord("100"));
      Complete(call, busy);
    }
  }

  // A long poll with nothing to answer yet: parks until a wake-up, its retry
  // time or the end of its wait (answered a little before the client's
  // deadline, so the client gets the empty answer, not DEADLINE_EXCEEDED).
  void Wait(Call* call, const PollOutcome& outcome) {
    if (call->wait_end_ == absl::InfinitePast()) {
      const absl::Duration margin =
          std::min(absl::Seconds(1), (call->ctx_.deadline - call->start_) / 10);
      call->wait_end_ = std::min(call->start_ + outcome.wait, call->ctx_.deadline - margin);
    }
    if (absl::Now() >= call->wait_end_) {
      Complete(call, absl::OkStatus());
      return;
    }
    if (!call->alarm_) call->alarm_ = std::make_unique<grpc::Alarm>();
    call->response_ = call->NewResponse();  // Empty until the next run answers.
    if (env_.waiters->Park(call->alarm_.get(), call->cq_,
                           std::min(call->wait_end_, outcome.retry_at), &call->alarm_tag_,
                           call->generation_, call->ctx_.distributor_id)) {
      return;
    }
    if (env_.waiters->closed()) {
      Complete(call, absl::OkStatus());  // The server is stopping: answer as it stands.
    } else {
      Dispatch(call);  // Woken while the body ran: look again.
    }
  }

  // A long poll that has waited, and may have been woken for new work, ends
  // without looking for it: another waiting call looks instead, so the work
  // does not wait for the next wake-up.
  void PassOnWakeUp(Call* call) {
    if (env_.waiters != nullptr && call->alarm_) {
      env_.waiters->WakeAnother(call->ctx_.distributor_id);
    }
  }

  // A parked call's alarm completed (on its queue's thread): run the body again.
  void Resume(Call* call) {
    env_.waiters->Unpark(call->alarm_.get());
    Dispatch(call);
  }

  absl::StatusOr<PollOutcome> RunBody(Call* call) {
    try {
      // On the thread that runs the body, which is the thread that fills it.
      call->response_ = call->NewResponse();
      return body_(call->ctx_, call->request_, call->response_);
    } catch (const std::exception& e) {
      // A bug, not the caller's fault: details go to the log only.
      log::Error("unhandled exception in {}: {}", name_, e.what());
      return absl::InternalError("internal error");
    }
  }

  // Logs the call and sends the answer (logged first, so a client that has
  // its answer also sees it in the metrics); the completion of Finish comes
  // back on the call's queue.
  void Complete(Call* call, const absl::Status& status) {
    call->status_ = status;  // A reference-count bump, not a copy of the message.
    Log(*call);
    bool started = false;
    if (call->status_.ok()) {
      grpc::ByteBuffer bytes = SerializeResponse(*call->response_);
      // Only the bytes stay while the client reads.
      call->arena_.Reset();
      call->response_ = nullptr;
      started = CompletionQueues::StartOperation(
          call->cq_, [&] { call->responder_.Finish(bytes, grpc::Status::OK, call); });
    } else {
      started = CompletionQueues::StartOperation(call->cq_, [&] {
        call->responder_.FinishWithError(CallHandler::ToGrpc(call->status_), call);
      });
    }
    if (!started) delete call;  // The server is stopping: no answer can be sent.
  }

  void Log(Call& call) const {
    if (admission_ == Admission::kPublic) return;
    env_.calls->Finish(name_, call.status_, absl::Now() - call.start_, call.ctx_.distributor_id,
                       call.request_id_, &call.context_);
  }

  Service* const service_;
  const int index_;
  const char* const name_;
  const Admission admission_;
  const Body body_;
  const UnaryEnvironment env_;
};

// `name`'s index in `Service`; a name the proto does not declare is a bug
// caught at start-up.
template <typename Service>
int MethodIndexOrDie(const char* name) {
  const int index = Service::MethodIndex(name);
  if (index < 0) {
    log::Error("no method {} in {}", name, Service::Descriptor().full_name());
    std::abort();
  }
  return index;
}

// The methods of a server, each listening on every queue.
class AsyncMethods {
 public:
  explicit AsyncMethods(UnaryEnvironment env) : env_(env) {}

  // One unary RPC of `service` (a RawService), by its proto name; `body` is
  // (const RequestContext&, const Request&, Response*) -> absl::Status.
  template <typename Service, typename Body>
  void AddUnary(Service* service, const char* name, Admission admission, Body body) {
    using Traits = BodyTraits<Body>;
    AddLongPoll(service, name, admission,
                [body = std::move(body)](
                    const domain::RequestContext& ctx, const typename Traits::Request& request,
                    typename Traits::Response* response) -> absl::StatusOr<PollOutcome> {
                  if (absl::Status status = body(ctx, request, response); !status.ok()) {
                    return status;
                  }
                  return PollOutcome{};
                });
  }

  // A unary RPC whose body may have nothing to answer yet: (const
  // RequestContext&, const Request&, Response*) -> absl::StatusOr<PollOutcome>.
  // The call then waits without a thread and the body runs again on the next
  // wake-up (transport/long_poll.h).
  template <typename Service, typename Body>
  void AddLongPoll(Service* service, const char* name, Admission admission, Body body) {
    using Traits = BodyTraits<Body>;
    methods_.push_back(
        std::make_unique<UnaryMethod<Service, typename Traits::Request, typename Traits::Response>>(
            service, MethodIndexOrDie<Service>(name), name, admission, std::move(body), env_));
  }
  void Add(std::unique_ptr<AsyncMethod> method) { methods_.push_back(std::move(method)); }

  // Posts every method's first request on every queue.
  void ListenOn(const CompletionQueues& queues) {
    for (const auto& cq : queues.queues()) {
      for (const auto& method : methods_) method->Listen(cq.get());
    }
  }

 private:
  const UnaryEnvironment env_;
  std::vector<std::unique_ptr<AsyncMethod>> methods_;
};

}  // namespace messaging::transport
