// ThreadStream: a long call (a build, the event stream) on a thread of its own, as a Stream.
// Engine-private.
//
// The body gets the StreamControl its Transfer polls. Cancel() cancels it and joins the thread, so
// no callback runs after it returns. Called from the stream's own callback (on that thread), it
// cannot join: the body checks the flag before every callback instead, and the thread ends by
// itself. Cancel and the destructor are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "curl_transfer.h"
#include "spawn/common/mutex.h"
#include "spawn/engine/docker_engine.h"

namespace spawn {

class ThreadStream final : public Stream {
 public:
  using Body = std::function<void(StreamControl&)>;
  explicit ThreadStream(Body body);
  ~ThreadStream() override;
  void Cancel() override EXCLUDES(join_mu_);

 private:
  // Shared with the thread, which may outlive the stream (destroyed from its own callback).
  std::shared_ptr<StreamControl> control_;
  Mutex join_mu_;  // Cancel may race with the destructor or another Cancel
  std::thread thread_ GUARDED_BY(join_mu_);
  std::thread::id thread_id_;  // thread_'s, for Cancel to read without the lock (join clears it)
};

}  // namespace spawn
