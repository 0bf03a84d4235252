// ImageJanitor: carries out the ImageKeeper's decisions on the engine for the supervisor. It lists
// the images this spawnpoint built (kBuiltByLabel), removes those whose grace ran out on a timer,
// and checks the disk budget after each build, removing unused images at once when the budget is
// short and, when even that is not enough, the new image itself (the build then fails with 507
// and the figures).
//
// Engine calls run on the Executor under one key (they apply in order, and never hold up a
// service's own calls); their results come back on the loop, dropped once the janitor is gone.
// Removal is never forced: an image a container still uses (the engine answers 409) stays.
// Loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "image_keeper.h"
#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/core/executor.h"
#include "spawn/engine/docker_engine.h"

namespace spawn {

class ImageJanitor {
 public:
  // The references (tags, ids) the services and their previous generations use now.
  using InUseFn = std::function<std::set<std::string>()>;
  // How many containers the spawnpoint keeps now (live, previous generations, zombies).
  using KeptFn = std::function<size_t()>;
  using DoneFn = std::function<void(const Status&)>;

  // Every reference must outlive the janitor; the callbacks run on the loop thread.
  ImageJanitor(const SpawndConfig& config, DockerEngine& engine, EventLoop& loop,
               Executor& executor, InUseFn in_use, KeptFn kept);
  ~ImageJanitor();

  // Lists the images and starts the collection timer.
  void Start();
  // Stops the timer; results still on their way are dropped. Nothing is asked of it afterwards.
  void Stop();
  // The labels for an image built on a base of `base_bytes` (0: unknown).
  std::map<std::string, std::string> BuildLabels(int64_t base_bytes) const;
  // `tag` was just built for a service about to get a container: `done` gets Ok when the count,
  // with that container's log, fits the budget (after removing unused images if it must), else 507
  // with the figures once `tag` is removed.
  void AdmitBuilt(const std::string& tag, DoneFn done);

  // For the heartbeat: the budget (0: none) and what is left of it (0 when over or none).
  int64_t TotalBytes() const;
  int64_t AvailableBytes() const;

 private:
  void Collect();
  void ScheduleCollect();
  void Remove(const std::vector<std::string>& references, const std::string& why);
  // Lists the images, updates the keeper, then runs `then` on the loop (the keeper unchanged if
  // the listing failed).
  void Refresh(std::function<void()> then);

  const SpawndConfig& config_;
  DockerEngine& engine_;
  EventLoop& loop_;
  Executor& executor_;
  InUseFn in_use_;
  KeptFn kept_;
  ImageKeeper keeper_;
  Duration period_;
  EventLoop::TimerId timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spawn
