#include "proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace bench {

int64_t TicksPerSecond() { return sysconf(_SC_CLK_TCK); }

double TicksToSeconds(int64_t ticks) {
  return static_cast<double>(ticks) / static_cast<double>(TicksPerSecond());
}

ProcSample ReadProc(int pid) {
  ProcSample p;
  if (pid <= 0) return p;
  {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    std::getline(stat, content);  // One line.
    const auto close = content.rfind(')');
    if (close != std::string::npos) {
      // Fields after the command name: state(3) ... utime(14) stime(15).
      std::istringstream rest(content.substr(close + 2));
      std::vector<std::string> fields;
      std::string f;
      while (rest >> f) fields.push_back(f);
      if (fields.size() > 12) p.cpu_ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) p.rss_kib = std::stoll(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) p.threads = std::stoi(line.substr(8));
  }
  return p;
}

namespace {
// (ppid, utime + stime) from /proc/<pid>/stat; false if gone.
// With children_too, also the waited-for children's (cutime + cstime).
bool StatOf(const std::string& pid, bool children_too, int* ppid, int64_t* ticks) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return false;
  const auto close = content.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(content.substr(close + 2));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) fields.push_back(f);
  if (fields.size() <= 12) return false;
  *ppid = std::stoi(fields[1]);
  *ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
  if (children_too) *ticks += std::stoll(fields[13]) + std::stoll(fields[14]);
  return true;
}
}  // namespace

int64_t TreeTicks(int root) {
  if (root <= 0) return -1;
  int64_t total = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int ppid = 0;
    int64_t ticks = 0;
    const bool is_root = std::stoi(name) == root;
    if (!StatOf(name, is_root, &ppid, &ticks)) continue;
    if (ppid == root || is_root) total += ticks;
  }
  closedir(proc);
  return total;
}

std::string ThreadNames(int pid) {
  std::map<std::string, int> names;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* tasks = opendir(dir.c_str())) {
    while (dirent* entry = readdir(tasks)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream comm(dir + "/" + entry->d_name + "/comm");
      std::string name;
      if (std::getline(comm, name)) ++names[name];
    }
    closedir(tasks);
  }
  std::string out;
  for (const auto& [name, count] : names) {
    if (!out.empty()) out += ", ";
    out += name + " x" + std::to_string(count);
  }
  return out;
}

}  // namespace bench
