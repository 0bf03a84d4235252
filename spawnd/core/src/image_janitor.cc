#include "image_janitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "spawn/common/units.h"

namespace spawn {
namespace {

// The executor key of the janitor's engine calls (service names cannot start with '.').
constexpr const char* kImagesKey = ".images";

// What the engine keeps of a container's log at most: ContainerSpec::log_max_size, one file.
int64_t LogCapBytes() {
  auto cap = ParseSize(ContainerSpec{}.log_max_size);
  return cap.ok() ? *cap : 0;
}

}  // namespace

ImageJanitor::ImageJanitor(const SpawndConfig& config, DockerEngine& engine, EventLoop& loop,
                           Executor& executor, InUseFn in_use, KeptFn kept)
    : config_(config),
      engine_(engine),
      loop_(loop),
      executor_(executor),
      in_use_(std::move(in_use)),
      kept_(std::move(kept)),
      keeper_(config.disk_alloc_bytes, config.image_grace, LogCapBytes()),
      // Often enough that an image goes within a small part of its grace after it ran out.
      period_(std::clamp<Duration>(config.image_grace / 4, std::chrono::seconds(1),
                                   std::chrono::minutes(1))) {}

ImageJanitor::~ImageJanitor() { Stop(); }

void ImageJanitor::Stop() {
  *alive_ = false;
  if (timer_) loop_.Cancel(timer_);
  timer_ = 0;
}

void ImageJanitor::Start() { Collect(); }

std::map<std::string, std::string> ImageJanitor::BuildLabels(int64_t base_bytes) const {
  std::map<std::string, std::string> labels = {{kBuiltByLabel, config_.path}};
  if (base_bytes > 0) labels[kBaseBytesLabel] = std::to_string(base_bytes);
  return labels;
}

void ImageJanitor::Refresh(std::function<void()> then) {
  DockerEngine* engine = &engine_;
  EventLoop* loop = &loop_;
  std::shared_ptr<bool> alive = alive_;
  const std::string path = config_.path;
  executor_.Run(kImagesKey, [=, this] {
    auto listed = engine->ListImages(kBuiltByLabel, path);
    loop->Post([=, this] {
      if (!*alive) return;
      if (listed.ok()) {
        keeper_.Update(*listed, in_use_(), loop_.Now());
      } else {
        spdlog::warn("images: cannot list the images built here: {}", listed.status().message());
      }
      then();
    });
  });
}

void ImageJanitor::Collect() {
  timer_ = 0;
  Refresh([this] {
    Remove(keeper_.Expired(loop_.Now()),
           "unused for imageGrace " + FormatDuration(config_.image_grace));
    ScheduleCollect();
  });
}

void ImageJanitor::ScheduleCollect() {
  if (timer_) loop_.Cancel(timer_);
  timer_ = loop_.RunAt(loop_.Now() + period_, [this] { Collect(); });
}

void ImageJanitor::Remove(const std::vector<std::string>& references, const std::string& why) {
  for (const auto& ref : references) {
    keeper_.Removed(ref);
    spdlog::info("images: removing {} ({})", ref, why);
    executor_.Run(kImagesKey, [engine = &engine_, ref] {
      Status removed = engine->RemoveImage(ref);
      // 409: a container still uses it (e.g. another spawnpoint's on the same engine); it stays,
      // and is counted again at the next listing.
      if (!removed.ok() && removed.code() != Code::kNotFound)
        spdlog::info("images: {} stays: {}", ref, removed.message());
    });
  }
}

void ImageJanitor::AdmitBuilt(const std::string& tag, DoneFn done) {
  Refresh([this, tag, done] {
    if (keeper_.budget_bytes() <= 0) return done(Status::Ok());
    // The container about to be made on it keeps a log too.
    const ImageKeeper::Room room = keeper_.MakeRoom(kept_() + 1);
    if (room.fits) {
      Remove(room.remove, "the disk budget is short");
      return done(Status::Ok());
    }
    const int64_t image = keeper_.BytesOf(tag);
    const Status refused = Status::InsufficientStorage(
        "image " + tag + " (" + FormatSize(image) + ") does not fit diskAlloc " +
        FormatSize(keeper_.budget_bytes()) + ": images built here and service logs would take " +
        FormatSize(room.used_after) + ", even with every unused image removed");
    Remove({tag}, "it does not fit the disk budget");
    done(refused);
  });
}

int64_t ImageJanitor::TotalBytes() const { return keeper_.budget_bytes(); }

int64_t ImageJanitor::AvailableBytes() const {
  if (keeper_.budget_bytes() <= 0) return 0;
  return std::max<int64_t>(0, keeper_.budget_bytes() - keeper_.UsedBytes(kept_()));
}

}  // namespace spawn
