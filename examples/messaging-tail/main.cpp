// messaging-tail: prints the messages of a conversation (or of all of a
// distributor's conversations) as they arrive, like `tail -f`.
//
//   messaging-tail --target HOST:PORT --token JWT [--conversation UUID]
//                  [--history N] [--count N] [--all-events]
//                  [--tls] [--tls-roots FILE]
//
// With --conversation it first lists the conversation (the last N messages
// with --history N) and then streams from the cursor of that listing, so no
// message falls between the two. The Subscription reconnects and resumes by
// itself when the server restarts. Ctrl-C stops it.

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "messaging/client/messaging_client.h"

namespace {

namespace v1 = ::messaging::v1;
namespace mc = ::messaging::client;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnSignal(int) { g_interrupted = 1; }

struct Args {
  std::string target;
  std::string token;
  std::string conversation;
  int history = 0;
  long count = 0;  // 0: until interrupted.
  bool all_events = false;
  bool tls = false;
  std::string tls_roots_file;
};

int Usage(const char* error) {
  if (error != nullptr) std::cerr << "messaging-tail: " << error << "\n";
  std::cerr << "usage: messaging-tail --target HOST:PORT --token JWT [--conversation UUID]\n"
               "                      [--history N] [--count N] [--all-events]\n"
               "                      [--tls] [--tls-roots FILE]\n"
               "  --token defaults to $MESSAGING_TOKEN. --history N prints the last N messages\n"
               "  first (needs --conversation); --count N exits after N messages; --all-events\n"
               "  also prints updates and deletions.\n";
  return error == nullptr ? 0 : 2;
}

const char* EventName(v1::MessageEventType type) {
  switch (type) {
    case v1::MESSAGE_EVENT_TYPE_CREATED:
      return "new";
    case v1::MESSAGE_EVENT_TYPE_UPDATED:
      return "updated";
    case v1::MESSAGE_EVENT_TYPE_DELETED:
      return "deleted";
    default:
      return "event";
  }
}

std::string Line(const char* kind, const v1::Message& m) {
  std::ostringstream out;
  out << google::protobuf::util::TimeUtil::ToString(m.create_time()) << " " << kind << " "
      << m.conversation_id() << " " << m.id() << " "
      << (m.direction() == v1::DIRECTION_INBOUND ? "<-" : "->") << " " << m.content();
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (const char* token = std::getenv("MESSAGING_TOKEN")) args.token = token;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "messaging-tail: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") return Usage(nullptr);
    if (flag == "--target") {
      args.target = value();
    } else if (flag == "--token") {
      args.token = value();
    } else if (flag == "--conversation") {
      args.conversation = value();
    } else if (flag == "--history") {
      args.history = std::atoi(value().c_str());
    } else if (flag == "--count") {
      args.count = std::atol(value().c_str());
    } else if (flag == "--all-events") {
      args.all_events = true;
    } else if (flag == "--tls") {
      args.tls = true;
    } else if (flag == "--tls-roots") {
      args.tls = true;
      args.tls_roots_file = value();
    } else {
      return Usage(("unknown argument " + flag).c_str());
    }
  }
  if (args.target.empty()) return Usage("--target is required");
  if (args.token.empty()) return Usage("--token (or MESSAGING_TOKEN) is required");
  if (args.history > 0 && args.conversation.empty()) return Usage("--history needs --conversation");

  mc::ClientOptions options;
  options.call_timeout = absl::Seconds(10);
  if (args.tls) {
    options.tls.emplace();
    if (!args.tls_roots_file.empty()) {
      std::ifstream file(args.tls_roots_file);
      if (!file.is_open()) return Usage("cannot read the --tls-roots file");
      std::stringstream pem;
      pem << file.rdbuf();
      options.tls->pem_root_certs = pem.str();
    }
  }
  mc::MessagingClient client(args.target, args.token, options);

  std::mutex out_mu;
  std::atomic<long> printed{0};
  auto print = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(out_mu);
    if (args.count > 0 && printed >= args.count) return;
    std::cout << line << std::endl;
    ++printed;
  };

  mc::SubscriptionOptions subscription_options;
  subscription_options.conversation_id = args.conversation;
  // The server sends a heartbeat every 30 s on a quiet stream: three missed
  // ones mean the connection is dead even if TCP has not noticed.
  subscription_options.idle_timeout = absl::Seconds(90);
  if (!args.conversation.empty()) {
    // Snapshot, then subscribe from the snapshot's cursor: nothing is missed.
    v1::ListMessagesRequest request;
    request.set_conversation_id(args.conversation);
    request.set_page_size(std::max(args.history, 1));
    request.set_order_by("create_time desc");
    auto page = client.ListMessages(request);
    if (!page.ok()) {
      std::cerr << "messaging-tail: " << page.status() << "\n";
      return 1;
    }
    for (int i = std::min(args.history, page->messages_size()) - 1; i >= 0; --i) {
      print(Line("old", page->messages(i)));
    }
    subscription_options.resume_cursor = page->stream_cursor();
  }
  if (args.count > 0 && printed >= args.count) return 0;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto subscription = client.Subscribe(
      subscription_options,
      [&](const v1::MessageEvent& event) {
        if (event.type() == v1::MESSAGE_EVENT_TYPE_CREATED || args.all_events) {
          print(Line(EventName(event.type()), event.message()));
        }
      },
      [](const absl::Status& status) {
        if (!status.ok() && status.code() != absl::StatusCode::kCancelled) {
          std::cerr << "messaging-tail: stream ended: " << status << "\n";
        }
      });
  while (!g_interrupted && !subscription->done() && (args.count == 0 || printed < args.count)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  subscription->Stop();
  const absl::Status status = subscription->Wait();
  return status.ok() || status.code() == absl::StatusCode::kCancelled ? 0 : 1;
}
