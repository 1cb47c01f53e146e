#include "support/server_process.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <sstream>

namespace messaging::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free port");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

ServerProcess::ServerProcess(const std::string& binary, const std::string& database_url,
                             const std::map<std::string, std::string>& extra_env) {
  port_ = FreePort();
  std::map<std::string, std::string> env = {
      {"DATABASE_URL", database_url},
      {"MESSAGING_JWT_SECRET", kTestSecret},
      {"MESSAGING_LISTEN", "127.0.0.1:" + std::to_string(port_)},
      {"MESSAGING_LOG_LEVEL", "warn"},
      {"MESSAGING_LOG_FORMAT", "text"},
      {"MESSAGING_HEARTBEAT_SECONDS", "1"},
  };
  for (const auto& [k, v] : extra_env) env[k] = v;
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execl(binary.c_str(), binary.c_str(), "serve", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Ready when health answers SERVING.
  auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    if (health->Check(&context, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  throw std::runtime_error("messaging-server did not become healthy");
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

long ServerProcess::ProcStatusField(const std::string& field) const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

int ServerProcess::Threads() const { return static_cast<int>(ProcStatusField("Threads")); }

long ServerProcess::RssKiB() const { return ProcStatusField("VmRSS"); }

long ServerProcess::PeakRssKiB() const { return ProcStatusField("VmHWM"); }

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace messaging::testing
