// CurlStreamHub: runs the long-lived streams of many containers (logs, stats) on one thread, in one
// libcurl multi handle driven by epoll (curl_multi_socket_action): a hundred services then cost one
// thread, and a log line wakes only the transfer it belongs to, not a scan of every socket.
// Engine-private; CurlDockerEngine owns one.
//
// A flow is a chain of transfers (FollowLogs inspects, then follows). The transfers' callbacks and
// the `finish` of each run on the hub's thread, which holds dispatch_mu_ meanwhile. Cancel() from
// another thread returns once none of the flow's callbacks runs or will run; from the hub's own
// thread (in a callback) it marks the flow, and the hub drops its transfer before its next round.
// libcurl may still hand a transfer's on_data more of what it has already read in the round that
// cancelled it, so on_data checks the flow's flag itself; `finish` is never called for a cancelled
// flow. Polls (stats samples) take turns: at most `poll_slots` run at once, the rest wait in line,
// in the order they fell due, without a transfer of their own yet.
//
// Add, AddPoll and Cancel are thread-safe. The hub's thread starts with the first Add; the
// destructor stops it, dropping whatever is left without calling it.
#pragma once

#include <curl/curl.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "curl_transfer.h"
#include "spawn/common/mutex.h"
#include "spawn/engine/docker_engine.h"

namespace spawn {

class CurlStreamHub {
 public:
  struct Flow {
    std::atomic<bool> cancelled{false};
  };
  // Called when a transfer ended by itself (a cancelled flow's transfer is dropped silently).
  using Finish = std::function<void(Transfer& transfer, CURLcode rc, long http_code)>;
  // Sets up the transfer of a poll whose turn came.
  using ConfigurePoll = std::function<void(Transfer&)>;

  // How long data that arrived waits to be read with whatever else comes: the logs of many
  // services then wake the hub's thread once per pause, not once per line.
  static constexpr std::chrono::milliseconds kCoalesce{250};

  // At most `poll_slots` polls run at once; `coalesce` is the pause above (0: none).
  explicit CurlStreamHub(int poll_slots, std::chrono::milliseconds coalesce = kCoalesce);
  ~CurlStreamHub();
  CurlStreamHub(const CurlStreamHub&) = delete;
  CurlStreamHub& operator=(const CurlStreamHub&) = delete;

  // Adds a configured transfer to `flow`, to start after `delay`. Any thread; from a `finish` it
  // chains the next one.
  void Add(std::shared_ptr<Flow> flow, std::unique_ptr<Transfer> transfer, Finish finish,
           std::chrono::milliseconds delay = std::chrono::milliseconds(0)) EXCLUDES(mu_);

  // Adds a poll (a short request made again and again, such as a stats sample) to `flow`: after
  // `delay` it waits for a slot, and only then gets a transfer (one that an earlier poll left, when
  // there is one) for `configure` to set up, so a poll waiting for its turn holds none. Any thread;
  // from a `finish` it chains the next poll.
  void AddPoll(std::shared_ptr<Flow> flow, ConfigurePoll configure, Finish finish,
               std::chrono::milliseconds delay) EXCLUDES(mu_);

  // Stops every transfer of `flow`, now and to come; see the top of the file for when it returns.
  void Cancel(const std::shared_ptr<Flow>& flow) EXCLUDES(mu_);

 private:
  using Clock = std::chrono::steady_clock;
  struct Active {
    std::shared_ptr<Flow> flow;
    std::unique_ptr<Transfer> transfer;  // a poll's comes when it starts
    ConfigurePoll configure;             // set for polls only
    Finish finish;
    Clock::time_point not_before;
    bool poll() const { return configure != nullptr; }
  };

  void Schedule(Active added) EXCLUDES(mu_);
  // Wakes Run from its wait for sockets or its pause for more data.
  void Wake();
  // Whether Run should go round at once: something was added or cancelled, or the hub stops.
  bool Asked() const REQUIRES(mu_);

  static int OnSocket(CURL*, curl_socket_t socket, int what, void* self, void*);
  static int OnTimer(CURLM*, long timeout_ms, void* self);

  void Run() EXCLUDES(mu_, dispatch_mu_);
  void Dispatch(std::vector<Active>& added, bool check_cancelled, const epoll_event* events,
                int ready) REQUIRES(dispatch_mu_);
  void Start(Active a) REQUIRES(dispatch_mu_);
  bool StartWaitingPolls() REQUIRES(dispatch_mu_);
  void FinishDone() REQUIRES(dispatch_mu_);
  // libcurl's next timer or the next delayed transfer, whichever comes first.
  std::optional<Clock::time_point> NextWake() const REQUIRES(dispatch_mu_);

  const int poll_slots_;
  const std::chrono::milliseconds coalesce_;
  CURLM* const multi_;
  const int epoll_;
  const int wake_;  // an eventfd: Add, Cancel and the destructor write to it to wake Run
  Mutex mu_;
  CondVar changed_;  // what Asked() reads changed
  std::vector<Active> pending_ GUARDED_BY(mu_);
  bool cancel_requested_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);  // started by the first Add
  // Held by the hub's thread while transfers and finishes run; what it guards only that thread
  // touches, and the destructor after it.
  Mutex dispatch_mu_;
  std::map<CURL*, Active> active_ GUARDED_BY(dispatch_mu_);
  std::multimap<Clock::time_point, Active> delayed_ GUARDED_BY(dispatch_mu_);
  std::deque<Active> waiting_polls_ GUARDED_BY(dispatch_mu_);  // due, waiting for a slot
  int polls_running_ GUARDED_BY(dispatch_mu_) = 0;
  // Finished polls' transfers, for the next polls to reuse.
  std::vector<std::unique_ptr<Transfer>> spare_polls_ GUARDED_BY(dispatch_mu_);
  std::optional<Clock::time_point> deadline_ GUARDED_BY(dispatch_mu_);  // libcurl's timer
};

// A Stream of the hub: cancelling it (or destroying it) cancels its flow.
class HubStream final : public Stream {
 public:
  HubStream(CurlStreamHub& hub, std::shared_ptr<CurlStreamHub::Flow> flow)
      : hub_(hub), flow_(std::move(flow)) {}
  ~HubStream() override { Cancel(); }
  void Cancel() override { hub_.Cancel(flow_); }

 private:
  CurlStreamHub& hub_;
  std::shared_ptr<CurlStreamHub::Flow> flow_;
};

}  // namespace spawn
