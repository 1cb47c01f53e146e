#pragma once

// The real messaging-server binary as a child process (a second replica, or a
// server whose threads and memory a test measures). Stopped with SIGTERM.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/test_server.h"

namespace messaging::testing {

// A TCP port that was free a moment ago.
int FreePort();

class ServerProcess {
 public:
  ServerProcess(const std::string& binary, const std::string& database_url,
                const std::map<std::string, std::string>& extra_env = {});
  ~ServerProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Threads of the process, from /proc.
  int Threads() const;
  // Resident memory in KiB, from /proc: now, and the most it has been.
  long RssKiB() const;
  long PeakRssKiB() const;
  // SIGTERM, then wait; returns the exit code (-1 if killed by a signal).
  int Terminate();
  void Kill();

 private:
  long ProcStatusField(const std::string& field) const;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace messaging::testing
