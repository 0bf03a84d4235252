#include "stream_hub.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

namespace spawn {

CurlStreamHub::CurlStreamHub(int poll_slots, std::chrono::milliseconds coalesce)
    : poll_slots_(poll_slots),
      coalesce_(coalesce),
      multi_(curl_multi_init()),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlStreamHub::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlStreamHub::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlStreamHub::~CurlStreamHub() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  {
    // Removing handles runs OnTimer, which expects the lock: the thread is gone, so it is free.
    MutexLock dispatch(dispatch_mu_);
    for (auto& [curl, active] : active_) curl_multi_remove_handle(multi_, curl);
    active_.clear();
  }
  curl_multi_cleanup(multi_);
  close(wake_);
  close(epoll_);
}

void CurlStreamHub::Add(std::shared_ptr<Flow> flow, std::unique_ptr<Transfer> transfer,
                        Finish finish, std::chrono::milliseconds delay) {
  Schedule(Active{std::move(flow), std::move(transfer), nullptr, std::move(finish),
                  Clock::now() + delay});
}

void CurlStreamHub::AddPoll(std::shared_ptr<Flow> flow, ConfigurePoll configure, Finish finish,
                            std::chrono::milliseconds delay) {
  Schedule(Active{std::move(flow), nullptr, std::move(configure), std::move(finish),
                  Clock::now() + delay});
}

void CurlStreamHub::Cancel(const std::shared_ptr<Flow>& flow) {
  flow->cancelled = true;
  bool on_hub_thread = false;
  {
    MutexLock lock(mu_);
    cancel_requested_ = true;
    on_hub_thread = std::this_thread::get_id() == thread_.get_id();
  }
  Wake();
  if (on_hub_thread) return;
  // Whatever callback of the flow was running has returned; later ones see the flag.
  MutexLock wait(dispatch_mu_);
}

void CurlStreamHub::Schedule(Active added) {
  bool on_hub_thread = false;
  {
    MutexLock lock(mu_);
    on_hub_thread = std::this_thread::get_id() == thread_.get_id();
    if (!on_hub_thread) {
      pending_.push_back(std::move(added));
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
  }
  if (!on_hub_thread) {
    Wake();
    return;
  }
  // From a `finish` (a stats poll chaining the next), which runs in Dispatch: straight into the
  // schedule, which Run consults before it next waits, with no wake-up of itself.
  dispatch_mu_.AssertHeld();
  delayed_.emplace(added.not_before, std::move(added));
}

void CurlStreamHub::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
  changed_.NotifyOne();
}

bool CurlStreamHub::Asked() const { return stopping_ || cancel_requested_ || !pending_.empty(); }

// libcurl tells which sockets to watch and for what; epoll keeps that set.
int CurlStreamHub::OnSocket(CURL*, curl_socket_t socket, int what, void* self, void*) {
  auto* hub = static_cast<CurlStreamHub*>(self);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(hub->epoll_, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  ev.data.fd = socket;
  if (epoll_ctl(hub->epoll_, EPOLL_CTL_MOD, socket, &ev) != 0 && errno == ENOENT)
    epoll_ctl(hub->epoll_, EPOLL_CTL_ADD, socket, &ev);
  return 0;
}

// libcurl's own timers (connect, low speed, total): when it next wants to be called anyway.
int CurlStreamHub::OnTimer(CURLM*, long timeout_ms, void* self) {
  auto* hub = static_cast<CurlStreamHub*>(self);
  hub->dispatch_mu_.AssertHeld();  // libcurl calls it only from the multi calls under it
  hub->deadline_ = timeout_ms < 0
                       ? std::nullopt
                       : std::optional(Clock::now() + std::chrono::milliseconds(timeout_ms));
  return 0;
}

std::optional<CurlStreamHub::Clock::time_point> CurlStreamHub::NextWake() const {
  std::optional<Clock::time_point> wake = deadline_;
  if (!delayed_.empty() && (!wake || delayed_.begin()->first < *wake))
    wake = delayed_.begin()->first;
  return wake;
}

void CurlStreamHub::Run() {
  std::array<epoll_event, 64> events{};
  int ready = 0;
  while (true) {
    std::vector<Active> added;
    bool check_cancelled = false;
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      added.swap(pending_);
      check_cancelled = std::exchange(cancel_requested_, false);
    }
    std::optional<Clock::time_point> wake;
    bool polls_waiting = false;
    {
      MutexLock dispatch(dispatch_mu_);  // not held while waiting: Cancel takes it
      Dispatch(added, check_cancelled, events.data(), ready);
      // Only this thread changes them: what they say now still holds after the pause below.
      wake = NextWake();
      polls_waiting = !waiting_polls_.empty();
    }
    // Data that arrives meanwhile waits up to coalesce_, to be read with whatever else came. A new
    // transfer, a cancellation or the destructor cuts the wait short.
    bool go_round = false;
    {
      MutexLock lock(mu_);
      // Polls waiting for a slot are not kept waiting too: the answers that free their slots are
      // read as they come.
      if (ready > 0 && !polls_waiting) {
        const auto until = Clock::now() + coalesce_;
        while (!Asked() && changed_.WaitUntil(lock, until)) {
        }
      }
      // Dispatch may have drained the eventfd of a Wake whose request came before: looked at
      // here, under the lock, it is not slept through.
      go_round = Asked();
    }
    int wait_ms = -1;
    if (go_round) {
      wait_ms = 0;
    } else if (wake) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    ready = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
    if (ready < 0) ready = 0;  // EINTR: go round again
  }
}

void CurlStreamHub::Dispatch(std::vector<Active>& added, bool check_cancelled,
                             const epoll_event* events, int ready) {
  if (check_cancelled) {
    for (auto it = active_.begin(); it != active_.end();) {
      if (!it->second.flow->cancelled) {
        ++it;
        continue;
      }
      curl_multi_remove_handle(multi_, it->first);
      if (it->second.poll()) --polls_running_;
      it = active_.erase(it);
    }
    std::erase_if(delayed_, [](auto& entry) { return entry.second.flow->cancelled.load(); });
    std::erase_if(waiting_polls_, [](const Active& a) { return a.flow->cancelled.load(); });
  }
  for (auto& a : added) {
    if (!a.flow->cancelled) delayed_.emplace(a.not_before, std::move(a));
  }
  // What falls due within one pause starts now, with what is due: the stats polls of a hundred
  // containers, each on a cycle of its own, then share a few wake-ups a second.
  const auto horizon = Clock::now() + coalesce_;
  while (!delayed_.empty() && delayed_.begin()->first <= horizon) {
    Active a = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    if (a.poll())
      waiting_polls_.push_back(std::move(a));
    else
      Start(std::move(a));
  }
  StartWaitingPolls();
  int running = 0;
  for (int i = 0; i < ready; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = read(wake_, &count, sizeof count);
      continue;
    }
    const uint32_t e = events[i].events;
    const int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                     ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                     ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(multi_, fd, mask, &running);
  }
  if (deadline_ && *deadline_ <= Clock::now()) {
    deadline_.reset();
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  FinishDone();
  // The slots that freed go to the polls next in line, which start at once (a transfer just added
  // is due on libcurl's timer right away), not after the next wait.
  while (StartWaitingPolls()) {
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    FinishDone();
  }
}

void CurlStreamHub::Start(Active a) {
  if (a.poll()) {
    ++polls_running_;
    if (spare_polls_.empty()) {
      a.transfer = std::make_unique<Transfer>();
    } else {
      a.transfer = std::move(spare_polls_.back());
      spare_polls_.pop_back();
      a.transfer->Recycle();
    }
    a.configure(*a.transfer);
  }
  // Stream buffers, not bulk downloads: lines of log and JSON samples of a few KiB. Cancelling goes
  // through the flow, so the per-call progress callback is not needed.
  CURL* curl = a.transfer->curl;
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 4096L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
  curl_multi_add_handle(multi_, curl);
  active_.emplace(curl, std::move(a));
}

bool CurlStreamHub::StartWaitingPolls() {
  bool started = false;
  while (polls_running_ < poll_slots_ && !waiting_polls_.empty()) {
    Active a = std::move(waiting_polls_.front());
    waiting_polls_.pop_front();
    if (a.flow->cancelled) continue;
    Start(std::move(a));
    started = true;
  }
  return started;
}

// Hands each transfer that ended to its flow's `finish` (unless the flow was cancelled).
void CurlStreamHub::FinishDone() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* curl = msg->easy_handle;  // `msg` dies with the removal below
    const CURLcode rc = msg->data.result;
    auto it = active_.find(curl);
    if (it == active_.end()) continue;
    Active done = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (!done.flow->cancelled) done.finish(*done.transfer, rc, code);
    if (done.poll()) {
      --polls_running_;
      // Never more spare than there are slots: what a turn of polls used, and no more.
      if (spare_polls_.size() < static_cast<size_t>(poll_slots_))
        spare_polls_.push_back(std::move(done.transfer));
    }
  }
}

}  // namespace spawn
