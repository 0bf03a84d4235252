// ScriptedEngine: an HTTP server on a unix socket that plays the Docker engine for the engine's
// unit tests, one thread per connection, each answered by the test's handler. It records the
// requests it was sent; a handler that must hold a stream open calls HoldOpen(), which returns when
// the server stops. Thread-safe; the destructor joins every connection's thread.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "spawn/common/mutex.h"

namespace spawn {

struct Request {
  std::string method;
  std::string target;  // path and query
  std::string body;
};

class ScriptedEngine {
 public:
  using Handler = std::function<void(const Request&, int fd)>;

  explicit ScriptedEngine(Handler handler) : handler_(std::move(handler)) {
    path_ = ::testing::TempDir() + "/scripted-engine-" + std::to_string(getpid()) + "-" +
            std::to_string(counter_++) + ".sock";
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    EXPECT_EQ(0, ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    EXPECT_EQ(0, ::listen(listen_fd_, 128));
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScriptedEngine() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);  // ends a WaitForClose
    }
    changed_.NotifyAll();
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }

  const std::string& path() const { return path_; }
  std::vector<Request> Requests() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return requests_;
  }
  // Waits until `n` requests came; false if a deadline that only guards against a hang passed.
  bool WaitForRequests(size_t n) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (RequestCount() < n) {
      if (!changed_.WaitUntil(lock, until)) return RequestCount() >= n;
    }
    return true;
  }
  void HoldOpen() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!Stopping()) changed_.Wait(lock);
  }

  static void Write(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  static void Answer(int fd, int code, const std::string& body) {
    Write(fd, "HTTP/1.1 " + std::to_string(code) +
                  " X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // Headers of an answer whose body follows until the connection closes.
  static void StartStream(int fd) {
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
  }
  // Blocks until the client closes the connection, or the server stops.
  static void WaitForClose(int fd) {
    char buf[256];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  }

 private:
  size_t RequestCount() const REQUIRES(mu_) { return requests_.size(); }
  bool Stopping() const REQUIRES(mu_) { return stopping_; }

  void AcceptLoop() EXCLUDES(mu_) {
    while (true) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      MutexLock lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      open_.insert(fd);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) EXCLUDES(mu_) {
    Request r;
    if (ReadRequest(fd, &r)) {
      {
        MutexLock lock(mu_);
        requests_.push_back(r);
      }
      changed_.NotifyAll();
      handler_(r, fd);
    }
    {
      MutexLock lock(mu_);
      open_.erase(fd);
    }
    ::close(fd);
  }
  static bool ReadRequest(int fd, Request* r) {
    std::string data;
    char buf[4096];
    size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<size_t>(n));
    }
    const std::string head = data.substr(0, end);
    r->body = data.substr(end + 4);
    const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    r->method = head.substr(0, sp1);
    r->target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t length = 0;
    if (const size_t cl = head.find("Content-Length: "); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 16));
    while (r->body.size() < length) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      r->body.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  static inline std::atomic<int> counter_{0};
  Handler handler_;
  std::string path_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  Mutex mu_;
  CondVar changed_;  // a request came, or the server stops
  bool stopping_ GUARDED_BY(mu_) = false;
  // Joined by the destructor, after the acceptor that adds to it.
  std::vector<std::thread> connections_ GUARDED_BY(mu_);
  std::vector<Request> requests_ GUARDED_BY(mu_);
  std::set<int> open_ GUARDED_BY(mu_);  // the connections' fds, until their handler returns
};

}  // namespace spawn
