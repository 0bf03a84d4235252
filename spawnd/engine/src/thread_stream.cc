#include "thread_stream.h"

namespace spawn {

ThreadStream::ThreadStream(Body body) : control_(std::make_shared<StreamControl>()) {
  thread_ = std::thread([control = control_, body = std::move(body)] { body(*control); });
  thread_id_ = thread_.get_id();
}

ThreadStream::~ThreadStream() {
  Cancel();
  MutexLock lock(join_mu_);
  if (thread_.joinable()) thread_.detach();  // destroyed on its own thread: it ends by itself
}

void ThreadStream::Cancel() {
  control_->Cancel();
  if (std::this_thread::get_id() == thread_id_) return;
  MutexLock lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace spawn
