#include "spawn/fleet/fleet_client.h"

#include <random>

#include "spawn/proto/topics.h"

namespace spawn::fleet {
namespace {

std::string RandomHex() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return hex;
}

Status Retain(Bus& bus, const std::string& topic, std::string payload) {
  return bus.Publish(BusMessage{topic, std::move(payload), 1, true});
}

}  // namespace

FleetClient::FleetClient(Bus& bus) : bus_(bus) {
  bus_.SetMessageHandler([this](const BusMessage& m) { OnMessage(m); });
}

FleetClient::~FleetClient() {
  bus_.SetMessageHandler([](const BusMessage&) {});
}

void FleetClient::OnMessage(const BusMessage& m) {
  MutexLock lock(mu_);
  if (!marker_.empty() && m.topic == marker_) {
    marker_seen_ = true;
  } else if (builder_) {
    builder_->Apply(m);
  }
  cv_.NotifyAll();
}

Status FleetClient::Subscribe(const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(f, 1));
    subscribed_.push_back(f);
  }
  return Status::Ok();
}

void FleetClient::UnsubscribeAll() {
  for (const auto& f : subscribed_) bus_.Unsubscribe(f).IgnoreError();
  subscribed_.clear();
}

Result<FleetView> FleetClient::Read(const std::string& base, Duration timeout,
                                    bool with_spawnpoints) {
  const std::string marker = base + "/s.spawnctl/sync/" + RandomHex();
  {
    MutexLock lock(mu_);
    builder_ = std::make_unique<ViewBuilder>(base);
    marker_ = marker;
    marker_seen_ = false;
  }
  std::vector<std::string> filters = {topics::FleetRoot(base) + "/#", marker};
  if (with_spawnpoints) filters = ViewBuilder::Filters(base), filters.push_back(marker);
  Status subscribed = Subscribe(filters);
  if (subscribed.ok()) subscribed = bus_.Publish(BusMessage{marker, "sync", 1, false});
  FleetView view;
  {
    MutexLock lock(mu_);
    if (subscribed.ok() &&
        !cv_.WaitFor(lock, timeout, [this]() NO_THREAD_SAFETY_ANALYSIS { return marker_seen_; })) {
      subscribed = Status::Timeout("no answer from the broker within " +
                                   std::to_string(timeout.count()) + " ms reading " + base);
    }
    marker_.clear();
    view = builder_->view();
    builder_.reset();
  }
  UnsubscribeAll();
  if (!subscribed.ok()) return subscribed;
  return view;
}

Result<Applied> FleetClient::Apply(const std::string& base, const FleetConfig& config,
                                   const std::string& archive, const std::string& entity,
                                   Duration timeout) {
  auto view = Read(base, timeout);
  if (!view.ok()) return view.status();
  const std::string& name = config.config.name;
  Applied out;
  FleetSpec& spec = out.spec;
  spec.name = name;
  spec.replicas = config.replicas;
  spec.placement = config.placement;
  spec.current.config = config.config;
  FleetFiles files{1, archive, entity, "", ""};
  auto old = view->sets.find(name);
  if (old == view->sets.end()) {
    spec.current.generation = 1;
    out.changed_config = true;
  } else {
    const FleetSpec& was = old->second;
    auto old_files = view->files.find(name);
    const bool same_files = old_files == view->files.end() ? archive.empty() && entity.empty()
                                                           : old_files->second.archive == archive &&
                                                                 old_files->second.entity == entity;
    auto status = view->statuses.find(name);
    const bool failed = status != view->statuses.end() &&
                        status->second.generation == was.current.generation &&
                        status->second.rollout == RolloutState::kFailed;
    if (was.current.config == config.config && same_files && !was.removed && !failed) {
      spec.current.generation = was.current.generation;
      spec.previous = was.previous;
      if (old_files != view->files.end()) files = old_files->second;
    } else {
      out.changed_config = true;
      spec.current.generation = was.current.generation + 1;
      // What runs now is what a failure goes back to: after a failed rollout, its previous.
      const bool back = failed && was.previous;
      spec.previous = back ? *was.previous : was.current;
      if (old_files != view->files.end()) {
        files.previous_archive =
            back ? old_files->second.previous_archive : old_files->second.archive;
        files.previous_entity = back ? old_files->second.previous_entity : old_files->second.entity;
      }
      if (was.removed) spec.previous.reset();
    }
  }
  files.generation = spec.current.generation;
  SPAWN_RETURN_IF_ERROR(Retain(bus_, topics::FleetFiles(base, name), Encode(files)));
  SPAWN_RETURN_IF_ERROR(Retain(bus_, topics::FleetSet(base, name), Encode(spec)));
  return out;
}

Result<FleetSpec> FleetClient::Scale(const std::string& base, const std::string& name,
                                     int64_t replicas, Duration timeout) {
  auto view = Read(base, timeout);
  if (!view.ok()) return view.status();
  auto it = view->sets.find(name);
  if (it == view->sets.end() || it->second.removed)
    return Status::NotFound("no set " + name + " under " + base + " (see spawnctl fleet ls)");
  SPAWN_RETURN_IF_ERROR(ValidateSetName(name, replicas));
  FleetSpec spec = it->second;
  spec.replicas = replicas;
  SPAWN_RETURN_IF_ERROR(Retain(bus_, topics::FleetSet(base, name), Encode(spec)));
  return spec;
}

Status FleetClient::Remove(const std::string& base, const std::string& name, Duration timeout) {
  auto view = Read(base, timeout);
  if (!view.ok()) return view.status();
  auto it = view->sets.find(name);
  if (it == view->sets.end())
    return Status::NotFound("no set " + name + " under " + base + " (see spawnctl fleet ls)");
  FleetSpec spec = it->second;
  spec.removed = true;
  return Retain(bus_, topics::FleetSet(base, name), Encode(spec));
}

Status FleetClient::Drain(const std::string& path, bool drained) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == path.size()) {
    return Status::BadRequest("\"" + path +
                              "\" is not a spawnpoint's path; expected BASE/<alias>, like "
                              "site/alpha");
  }
  return Retain(bus_, topics::FleetDrain(path.substr(0, slash), path.substr(slash + 1)),
                drained ? kDrainedPayload : "");
}

Result<FleetStatus> FleetClient::WaitForRollout(const std::string& base, const std::string& name,
                                                int64_t generation, Duration timeout) {
  {
    MutexLock lock(mu_);
    builder_ = std::make_unique<ViewBuilder>(base);
  }
  SPAWN_RETURN_IF_ERROR(Subscribe({topics::FleetSet(base, name), topics::FleetStatus(base, name)}));
  bool done = false;
  FleetView view;
  {
    MutexLock lock(mu_);
    // Runs inside WaitFor, with mu_ held (the analysis cannot see through it).
    auto ended = [&]() NO_THREAD_SAFETY_ANALYSIS {
      auto st = builder_->view().statuses.find(name);
      return st != builder_->view().statuses.end() && st->second.generation == generation &&
             st->second.rollout != RolloutState::kRolling;
    };
    done = cv_.WaitFor(lock, timeout, ended);
    view = builder_->view();
    builder_.reset();
  }
  UnsubscribeAll();
  auto st = view.statuses.find(name);
  if (done) return st->second;
  if (st == view.statuses.end() && !view.sets.count(name))
    return Status::NotFound("the set " + name + " under " + base + " is gone");
  return Status::Timeout("the rollout of " + name + " generation " + std::to_string(generation) +
                         " did not end within " + std::to_string(timeout.count() / 1000) + "s" +
                         (st == view.statuses.end()
                              ? std::string(" (no reconciler has reported on it: is a spawnd "
                                            "with fleet: in its spawnd.yml running?)")
                              : " (" + std::to_string(st->second.updated) + " of " +
                                    std::to_string(st->second.desired) + " updated)"));
}

}  // namespace spawn::fleet
