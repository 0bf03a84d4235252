// CurlStreamHub with flows of transfers to a scripted server on a unix socket: chained transfers,
// cancellation from another thread and from a callback of the flow itself, a silent stream that a
// cancellation ends, and polls that take turns.
#include "stream_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "scripted_engine.h"
#include "spawn/common/mutex.h"
#include "spawn/engine/inbox.h"

namespace spawn {
namespace {

using Flow = CurlStreamHub::Flow;

// Without the pause for more data, the hub waits for sockets as soon as it has nothing to do, so a
// cancellation has nothing but its own wake-up to end that wait.
constexpr std::chrono::milliseconds kNoPause{0};

// The deadline of every wait here, which only keeps a broken test from hanging.
constexpr std::chrono::seconds kGuard{60};

// How a transfer ended, as its `finish` saw it.
struct Ended {
  std::string name;
  CURLcode rc;
  long code;
  std::string body;
};

// Waits until a thread of this process waits in epoll_wait with nothing due before kGuard: in these
// tests only the hub's thread calls it, so the hub then has nothing to wake it but its sockets and
// its wake-up. /proc/self/task/<tid>/syscall names the system call a thread is in and its arguments
// (in hex; epoll_wait's fourth is the timeout in milliseconds, -1 for none). False if kGuard passed
// first.
bool WaitUntilTheHubSleeps() {
  const auto until = std::chrono::steady_clock::now() + kGuard;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream in(task.path() / "syscall");
      long number = -1;
      std::string fd, events, max_events, timeout;
      if (!(in >> number >> fd >> events >> max_events >> timeout)) continue;
      if (number != SYS_epoll_wait && number != SYS_epoll_pwait) continue;
      const auto ms = static_cast<int32_t>(std::stoull(timeout, nullptr, 16));
      if (ms == -1 || std::chrono::milliseconds(ms) > kGuard) return true;
    }
    std::this_thread::yield();
  }
  return false;
}

// Lets the server's handlers go on once the test opens it.
class Gate {
 public:
  void Open() EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      open_ = true;
    }
    opened_.NotifyAll();
  }
  // False if kGuard passed first.
  bool Wait() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + kGuard;
    while (!IsOpen()) {
      if (!opened_.WaitUntil(lock, until)) return IsOpen();
    }
    return true;
  }

 private:
  bool IsOpen() const REQUIRES(mu_) { return open_; }
  Mutex mu_;
  CondVar opened_;
  bool open_ GUARDED_BY(mu_) = false;
};

// Which polls got their turn, in what order, and how many ran at once at most.
class Turns {
 public:
  void Started(int poll) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    order_.push_back(poll);
    most_at_once_ = std::max(most_at_once_, ++running_);
  }
  void Ended() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    --running_;
  }
  std::vector<int> Order() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return order_;
  }
  int MostAtOnce() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return most_at_once_;
  }

 private:
  Mutex mu_;
  std::vector<int> order_ GUARDED_BY(mu_);
  int running_ GUARDED_BY(mu_) = 0;
  int most_at_once_ GUARDED_BY(mu_) = 0;
};

// A GET of `target` whose body goes to `on_data` (collected into the transfer when none is given).
std::unique_ptr<Transfer> Get(const ScriptedEngine& server, const std::string& target,
                              std::function<bool(std::string_view)> on_data = nullptr) {
  auto t = std::make_unique<Transfer>();
  if (on_data) {
    t->on_data = std::move(on_data);
  } else {
    t->on_data = [collected = &t->collected](std::string_view data) {
      collected->append(data);
      return true;
    };
  }
  t->Configure(server.path(), "GET", "http://localhost" + target, nullptr, "", Limits{});
  return t;
}

CurlStreamHub::Finish RecordInto(Inbox<Ended>& ended, const std::string& name) {
  return [&ended, name](Transfer& t, CURLcode rc, long code) {
    ended.Push(Ended{name, rc, code, t.collected});
  };
}

TEST(StreamHubTest, AFinishChainsTheNextTransferOfItsFlow) {
  ScriptedEngine server([](const Request& r, int fd) {
    if (r.target == "/first") return ScriptedEngine::Answer(fd, 200, "one");
    ScriptedEngine::Answer(fd, 404, "");
  });
  Inbox<Ended> ended;
  CurlStreamHub hub(2, kNoPause);
  auto flow = std::make_shared<Flow>();
  hub.Add(flow, Get(server, "/first"), [&](Transfer& t, CURLcode rc, long code) {
    ended.Push(Ended{"first", rc, code, t.collected});
    hub.Add(flow, Get(server, "/second"), RecordInto(ended, "second"));  // on the hub's thread
  });
  ASSERT_TRUE(ended.WaitForCount(2));
  const auto got = ended.Items();
  EXPECT_EQ(got[0].name, "first");
  EXPECT_EQ(got[0].rc, CURLE_OK);
  EXPECT_EQ(got[0].code, 200);
  EXPECT_EQ(got[0].body, "one");
  EXPECT_EQ(got[1].name, "second");
  EXPECT_EQ(got[1].code, 404);
}

// A silent stream gives libcurl nothing to act on: once the hub sleeps, only the cancellation's own
// wake-up ends its wait.
TEST(StreamHubTest, CancelEndsASilentStreamAndItsFinishIsNeverCalled) {
  Inbox<std::string> closed;
  ScriptedEngine server([&](const Request& r, int fd) {
    if (r.target == "/other") return ScriptedEngine::Answer(fd, 200, "");
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::WaitForClose(fd);
    closed.Push(r.target);
  });
  Inbox<int> connected;
  Inbox<Ended> ended;
  CurlStreamHub hub(2, kNoPause);
  auto flow = std::make_shared<Flow>();
  auto stream = Get(server, "/events", [](std::string_view) { return true; });
  stream->on_connected = [&] { connected.Push(1); };
  // libcurl keeps the connect timer of a transfer that connected until it is due: one that is not
  // due before kGuard leaves the hub asleep.
  curl_easy_setopt(stream->curl, CURLOPT_CONNECTTIMEOUT, 3600L);
  hub.Add(flow, std::move(stream), RecordInto(ended, "stream"));
  ASSERT_TRUE(connected.WaitForCount(1));
  ASSERT_TRUE(WaitUntilTheHubSleeps());
  hub.Cancel(flow);
  ASSERT_TRUE(closed.WaitForCount(1));  // the hub dropped the transfer and its connection
  hub.Cancel(flow);                     // cancelling twice is harmless
  // Another flow still runs, and by its end the hub has gone round since the cancellation.
  hub.Add(std::make_shared<Flow>(), Get(server, "/other"), RecordInto(ended, "other"));
  ASSERT_TRUE(ended.WaitForCount(1));
  EXPECT_EQ(ended.Items().size(), 1u);
  EXPECT_EQ(ended.Items()[0].name, "other");
}

// Cancel from another thread waits for the flow's callback that is running to return.
TEST(StreamHubTest, CancelFromAnotherThreadReturnsAfterTheRunningCallback) {
  ScriptedEngine server([&](const Request&, int fd) {
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::Write(fd, "one\n");
    ScriptedEngine::WaitForClose(fd);
  });
  Inbox<int> entered;
  std::atomic<bool> callback_returned{false};
  Inbox<Ended> ended;
  CurlStreamHub hub(2, kNoPause);
  auto flow = std::make_shared<Flow>();
  hub.Add(flow,
          Get(server, "/logs",
              [&](std::string_view) {
                entered.Push(1);
                // Holds the callback until the cancellation has begun; yields rather than sleeps.
                while (!flow->cancelled) std::this_thread::yield();
                callback_returned = true;
                return true;
              }),
          RecordInto(ended, "logs"));
  ASSERT_TRUE(entered.WaitForCount(1));
  bool returned_first = false;
  std::thread canceller([&] {
    hub.Cancel(flow);
    returned_first = callback_returned.load();
  });
  canceller.join();
  EXPECT_TRUE(returned_first);
  EXPECT_EQ(entered.Items().size(), 1u);
  EXPECT_TRUE(ended.Items().empty());
}

// From its own callback, on the hub's thread, Cancel only marks the flow: no deadlock, and the hub
// drops the transfer.
TEST(StreamHubTest, CancelFromItsOwnCallbackDropsTheTransfer) {
  Inbox<std::string> closed;
  ScriptedEngine server([&](const Request&, int fd) {
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::Write(fd, "one\n");
    ScriptedEngine::WaitForClose(fd);
    closed.Push("logs");
  });
  Inbox<std::string> data;
  Inbox<Ended> ended;
  CurlStreamHub hub(2, kNoPause);
  auto flow = std::make_shared<Flow>();
  hub.Add(flow,
          Get(server, "/logs",
              [&](std::string_view chunk) {
                hub.Cancel(flow);
                data.Push(std::string(chunk));
                return true;
              }),
          RecordInto(ended, "logs"));
  ASSERT_TRUE(closed.WaitForCount(1));
  EXPECT_EQ(data.Items(), std::vector<std::string>{"one\n"});
  EXPECT_TRUE(ended.Items().empty());
}

// Polls that fall due together get a slot each in the order they fell due, at most `poll_slots`
// at once; a poll gets its transfer only when its turn comes.
TEST(StreamHubTest, PollsTakeTurnsAtMostSlotsAtOnceInTheOrderTheyFellDue) {
  constexpr int kSlots = 2;
  constexpr int kPolls = 5;
  Gate gate;
  ScriptedEngine server([&](const Request&, int fd) {
    gate.Wait();  // until the test has seen a whole turn in flight
    ScriptedEngine::Answer(fd, 200, "sample");
  });
  Inbox<Ended> ended;
  Turns turns;
  CurlStreamHub hub(kSlots, kNoPause);
  std::vector<std::shared_ptr<Flow>> flows;
  for (int i = 0; i < kPolls; ++i) {
    flows.push_back(std::make_shared<Flow>());
    hub.AddPoll(
        flows.back(),
        [&, i](Transfer& t) {
          turns.Started(i);
          t.on_data = [&t](std::string_view data) {
            t.collected.append(data);
            return true;
          };
          t.Configure(server.path(), "GET", "http://localhost/poll/" + std::to_string(i), nullptr,
                      "", Limits{});
        },
        [&, i](Transfer& t, CURLcode rc, long code) {
          turns.Ended();
          ended.Push(Ended{std::to_string(i), rc, code, t.collected});
        },
        std::chrono::milliseconds(0));
  }
  ASSERT_TRUE(server.WaitForRequests(kSlots));
  gate.Open();
  ASSERT_TRUE(ended.WaitForCount(kPolls));
  for (const Ended& e : ended.Items()) {
    EXPECT_EQ(e.code, 200) << e.name;
    EXPECT_EQ(e.body, "sample") << e.name;  // a reused transfer starts empty
  }
  EXPECT_EQ(turns.MostAtOnce(), kSlots);
  EXPECT_EQ(turns.Order(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(StreamHubTest, ACancelledPollWaitingForItsTurnNeverStarts) {
  Gate gate;
  ScriptedEngine server([&](const Request&, int fd) {
    gate.Wait();
    ScriptedEngine::Answer(fd, 200, "sample");
  });
  Inbox<std::string> started;
  Inbox<Ended> ended;
  CurlStreamHub hub(1, kNoPause);
  auto poll = [&](const std::shared_ptr<Flow>& flow, const std::string& name) {
    hub.AddPoll(
        flow,
        [&, name](Transfer& t) {
          started.Push(name);
          t.on_data = [](std::string_view) { return true; };
          t.Configure(server.path(), "GET", "http://localhost/" + name, nullptr, "", Limits{});
        },
        RecordInto(ended, name), std::chrono::milliseconds(0));
  };
  auto holding = std::make_shared<Flow>(), dropped = std::make_shared<Flow>();
  poll(holding, "holding");
  ASSERT_TRUE(server.WaitForRequests(1));  // the only slot is taken
  poll(dropped, "dropped");
  hub.Cancel(dropped);
  gate.Open();
  poll(std::make_shared<Flow>(), "after");
  ASSERT_TRUE(ended.WaitForCount(2));
  EXPECT_EQ(started.Items(), (std::vector<std::string>{"holding", "after"}));
  for (const Request& r : server.Requests()) EXPECT_NE(r.target, "/dropped");
}

TEST(StreamHubTest, TheDestructorDropsWhatIsLeftWithoutCallingIt) {
  Inbox<std::string> closed;
  ScriptedEngine server([&](const Request&, int fd) {
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::WaitForClose(fd);
    closed.Push("stream");
  });
  Inbox<int> connected;
  Inbox<Ended> ended;
  {
    CurlStreamHub hub(2, kNoPause);
    auto stream = Get(server, "/logs", [](std::string_view) { return true; });
    stream->on_connected = [&] { connected.Push(1); };
    hub.Add(std::make_shared<Flow>(), std::move(stream), RecordInto(ended, "stream"));
    ASSERT_TRUE(connected.WaitForCount(1));
  }
  ASSERT_TRUE(closed.WaitForCount(1));
  EXPECT_TRUE(ended.Items().empty());
}

}  // namespace
}  // namespace spawn
