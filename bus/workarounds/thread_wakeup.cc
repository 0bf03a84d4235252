#include "thread_wakeup.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "proc_entries.h"

namespace spawn {
namespace {

void DoNothing(int) {}

// True once our handler is SIGURG's; false if another one already was.
bool OwnSigurg() {
  static std::once_flag once;
  static bool owned = false;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGURG, nullptr, &current) != 0) return;
    if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) return;
    struct sigaction ours {};
    ours.sa_handler = DoNothing;
    ours.sa_flags = SA_RESTART;
    sigemptyset(&ours.sa_mask);
    owned = sigaction(SIGURG, &ours, nullptr) == 0;
  });
  return owned;
}

std::string FirstWord(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}

bool IsSleeping(const std::string& task_dir) {
  // "<syscall number> <args...>" while the thread is blocked in a system call.
  const std::string call = FirstWord(task_dir + "/syscall");
  if (call == std::to_string(SYS_clock_nanosleep)) return true;
#ifdef SYS_nanosleep
  if (call == std::to_string(SYS_nanosleep)) return true;
#endif
  return false;
}

}  // namespace

int WakeSleepingThreads(const std::string& name) {
  if (!OwnSigurg()) return 0;
  int signalled = 0;
  const pid_t pid = getpid();
  for (const long tid : NumberedEntries("/proc/self/task")) {
    const std::string dir = "/proc/self/task/" + std::to_string(tid);
    std::ifstream comm(dir + "/comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name || !IsSleeping(dir)) continue;
    if (syscall(SYS_tgkill, pid, static_cast<pid_t>(tid), SIGURG) == 0) ++signalled;
  }
  return signalled;
}

}  // namespace spawn
