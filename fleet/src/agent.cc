#include "spawn/fleet/agent.h"

#include "spawn/proto/topics.h"

namespace spawn::fleet {

FleetAgent::FleetAgent(AgentOptions options, Bus& bus, EventLoop& loop)
    : options_(std::move(options)),
      bus_(bus),
      loop_(loop),
      builder_(options_.reconciler.base),
      reconciler_(options_.reconciler),
      self_(std::make_shared<FleetAgent*>(this)) {}

FleetAgent::~FleetAgent() {
  *self_ = nullptr;
  bus_.SetMessageHandler([](const BusMessage&) {});
}

void FleetAgent::Install() {
  std::weak_ptr<FleetAgent*> weak = self_;
  EventLoop* loop = &loop_;
  bus_.SetMessageHandler([weak, loop](const BusMessage& m) {
    loop->Post([weak, m] {
      auto self = weak.lock();
      if (self && *self) (*self)->OnMessage(m);
    });
  });
}

Status FleetAgent::Start() {
  const std::string& base = options_.reconciler.base;
  std::vector<std::string> filters = ViewBuilder::Filters(base);
  filters.push_back(topics::Reply(base + "/+", "+"));
  for (const auto& filter : filters) SPAWN_RETURN_IF_ERROR(bus_.Subscribe(filter, 1));
  started_ = true;
  periodic_ = loop_.RunAfter(options_.period, [this] {
    periodic_ = 0;
    Pass();
  });
  return Status::Ok();
}

void FleetAgent::Stop() {
  stopped_ = true;
  if (soon_) loop_.Cancel(soon_);
  if (periodic_) loop_.Cancel(periodic_);
  soon_ = periodic_ = 0;
}

void FleetAgent::OnMessage(const BusMessage& m) {
  if (stopped_) return;
  if (m.topic.find("/signal/reply/") != std::string::npos) {
    auto reply = proto::DecodeReply(m.payload);
    if (!reply.ok() || !reconciler_.Awaits(reply->request_id)) return;
    reconciler_.OnReply(*reply, ToUnixNanos(loop_.WallNow()));
    Schedule();
    return;
  }
  if (builder_.Apply(m)) Schedule();
}

void FleetAgent::Schedule() {
  if (!started_ || stopped_ || soon_) return;
  const SteadyTime due = std::max(loop_.Now(), last_pass_ + options_.min_interval);
  soon_ = loop_.RunAt(due, [this] {
    soon_ = 0;
    Pass();
  });
}

void FleetAgent::Pass() {
  if (stopped_) return;
  last_pass_ = loop_.Now();
  ++passes_;
  if (periodic_) loop_.Cancel(periodic_);
  periodic_ = loop_.RunAfter(options_.period, [this] {
    periodic_ = 0;
    Pass();
  });
  Decisions d = reconciler_.Reconcile(builder_.view(), ToUnixNanos(loop_.WallNow()));
  const std::string& base = options_.reconciler.base;
  std::vector<BusMessage> out;
  for (const Action& a : d.actions) {
    BusMessage m;
    m.qos = 1;
    m.expiry = options_.command_expiry;
    switch (a.kind) {
      case ActionKind::kDeploy:
        m.topic = topics::ConfigSlot(a.path);
        m.payload = proto::Encode(a.request);
        break;
      case ActionKind::kStop:
        m.topic = topics::StopSlot(a.path);
        m.payload = proto::Encode(proto::ServiceCommand{a.request_id, a.service, false});
        break;
      case ActionKind::kRollback:
        m.topic = topics::RollbackSlot(a.path);
        m.payload = proto::Encode(proto::ServiceCommand{a.request_id, a.service, false});
        break;
    }
    out.push_back(std::move(m));
  }
  for (const FleetStatus& s : d.statuses)
    out.push_back(BusMessage{topics::FleetStatus(base, s.name), Encode(s), 1, true});
  for (const std::string& name : d.cleared) {
    for (const std::string& topic : {topics::FleetSet(base, name), topics::FleetFiles(base, name),
                                     topics::FleetStatus(base, name)})
      out.push_back(BusMessage{topic, "", 1, true});
  }
  if (!out.empty()) bus_.PublishBatch(out);
}

}  // namespace spawn::fleet
