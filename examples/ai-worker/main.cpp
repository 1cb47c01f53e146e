// messaging-ai-worker: an AI worker over the work queue, with a keyword
// "model" standing in for a real one. It shows the shape of a worker: the
// AiWorker loop does claiming, lease extension, completion and failure; the
// application only turns one message (and its conversation's recent
// messages) into AI fields.
//
//   messaging-ai-worker --target HOST:PORT --token JWT [--max-items N]
//                       [--lease SECONDS] [--wait SECONDS] [--count N]
//                       [--tls] [--tls-roots FILE]
//
// The token is a worker token: `messaging-server mint-token --worker NAME`
// (add --distributor UUID to restrict it to one distributor). SIGINT or
// SIGTERM stops it once the items in hand are done.

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "messaging/client/ai_worker.h"
#include "messaging/client/messaging_client.h"

namespace {

namespace v1 = ::messaging::v1;
namespace mc = ::messaging::client;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnSignal(int) { g_interrupted = 1; }

struct Args {
  std::string target;
  std::string token;
  int max_items = 1;
  int lease_seconds = 60;
  int wait_seconds = 20;
  long count = 0;  // 0: until interrupted.
  bool tls = false;
  std::string tls_roots_file;
};

int Usage(const char* error) {
  if (error != nullptr) std::cerr << "messaging-ai-worker: " << error << "\n";
  std::cerr << "usage: messaging-ai-worker --target HOST:PORT --token JWT [--max-items N]\n"
               "                           [--lease SECONDS] [--wait SECONDS] [--count N]\n"
               "                           [--tls] [--tls-roots FILE]\n"
               "  --token defaults to $MESSAGING_TOKEN (a worker token: messaging-server\n"
               "  mint-token --worker NAME). --count N exits after N items are done.\n";
  return error == nullptr ? 0 : 2;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool ContainsAny(const std::string& text, const std::vector<std::string>& words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return text.find(w) != std::string::npos; });
}

// The stand-in model: intent and sentiment from keywords, the first sentence
// as the summary, order numbers (#1234) as extracted data.
absl::StatusOr<mc::AiWorkResult> Analyse(const v1::AiWorkItem& item) {
  const std::string& content = item.message().content();
  if (content.empty()) return absl::InvalidArgumentError("nothing to read in this message");
  const std::string text = Lower(content);
  mc::AiWorkResult result;
  if (ContainsAny(text, {"order", "delivery", "shipped", "tracking"})) {
    result.ai_intent = "order_status";
  } else if (ContainsAny(text, {"price", "cost", "how much", "quote"})) {
    result.ai_intent = "pricing";
  } else if (ContainsAny(text, {"refund", "broken", "complain", "wrong"})) {
    result.ai_intent = "complaint";
  } else {
    result.ai_intent = "other";
  }
  const bool negative = ContainsAny(text, {"angry", "broken", "wrong", "late", "bad", "refund"});
  const bool positive = ContainsAny(text, {"thanks", "thank you", "great", "perfect", "love"});
  result.ai_sentiment = negative ? "negative" : positive ? "positive" : "neutral";
  const std::size_t end = content.find_first_of(".?!\n");
  result.ai_summary = content.substr(
      0, std::min<std::size_t>(end == std::string::npos ? content.size() : end + 1, 160));
  auto* orders = (*result.ai_extracted_data.mutable_fields())["order_numbers"].mutable_list_value();
  for (std::size_t at = content.find('#'); at != std::string::npos;
       at = content.find('#', at + 1)) {
    std::size_t digits = at + 1;
    while (digits < content.size() && std::isdigit(static_cast<unsigned char>(content[digits]))) {
      ++digits;
    }
    if (digits > at + 1)
      orders->add_values()->set_string_value(content.substr(at + 1, digits - at - 1));
  }
  (*result.ai_extracted_data.mutable_fields())["context_messages"].set_number_value(
      item.context_messages_size());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (const char* token = std::getenv("MESSAGING_TOKEN")) args.token = token;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "messaging-ai-worker: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") return Usage(nullptr);
    if (flag == "--target") {
      args.target = value();
    } else if (flag == "--token") {
      args.token = value();
    } else if (flag == "--max-items") {
      args.max_items = std::atoi(value().c_str());
    } else if (flag == "--lease") {
      args.lease_seconds = std::atoi(value().c_str());
    } else if (flag == "--wait") {
      args.wait_seconds = std::atoi(value().c_str());
    } else if (flag == "--count") {
      args.count = std::atol(value().c_str());
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

  mc::AiWorkerOptions worker_options;
  worker_options.max_items = args.max_items;
  worker_options.lease_duration = absl::Seconds(args.lease_seconds);
  worker_options.wait_duration = absl::Seconds(args.wait_seconds);
  mc::AiWorker worker(
      client,
      [&](const v1::AiWorkItem& item) {
        auto result = Analyse(item);
        std::cout << item.distributor_id() << " " << item.message().id() << " attempt "
                  << item.attempt() << ": "
                  << (result.ok() ? result->ai_intent + "/" + result->ai_sentiment
                                  : result.status().ToString())
                  << std::endl;
        return result;
      },
      worker_options);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Stops the loop on a signal, or after --count items.
  std::thread watcher([&] {
    while (!g_interrupted) {
      const auto stats = worker.stats();
      if (args.count > 0 && stats.completed + stats.failed >= args.count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    worker.Stop();
  });
  const absl::Status status = worker.Run();
  g_interrupted = 1;
  watcher.join();
  const auto stats = worker.stats();
  std::cerr << "messaging-ai-worker: " << stats.completed << " completed, " << stats.failed
            << " failed, " << stats.leases_lost << " leases lost\n";
  if (!status.ok()) {
    std::cerr << "messaging-ai-worker: " << status << "\n";
    return 1;
  }
  return 0;
}
