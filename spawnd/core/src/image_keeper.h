// ImageKeeper: the bookkeeping behind a spawnpoint's disk budget (spawnd.yml diskAlloc) and the
// collection of the images its spawnd built. Pure decisions, no I/O: the caller lists the images
// (those labelled kBuiltByLabel with this spawnpoint's path, never any other), tells it which
// references its services use, and removes what it names.
//
// The count: every image built here, by its own layers (its size minus that of the base it was
// built on, recorded in kBaseBytesLabel at build time), plus every container the spawnpoint keeps,
// by the most the engine keeps of its log (the json-file cap). The engine cannot cap a
// container's writable layer, so that is not counted.
//
// Collection: an image that no reference in use names becomes collectable `grace` after it was
// first seen unused (the keeper's first Update counts as first seen, so a restart of spawnd delays
// a removal, never hastens it), and at once when the budget is short (MakeRoom); oldest unused
// first, ties by id. Time is given. Not thread-safe (the supervisor's loop thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spawn/common/event_loop.h"
#include "spawn/engine/docker_engine.h"

namespace spawn {

// Labels on every image spawnd builds: the path of the spawnpoint that built it, and the size in
// bytes of the base image it was built on (absent when the base was not on the engine yet).
inline constexpr const char* kBuiltByLabel = "io.spawnpoint.built-by";
inline constexpr const char* kBaseBytesLabel = "io.spawnpoint.base-bytes";

class ImageKeeper {
 public:
  // `budget_bytes` 0: no budget (images are still collected after `grace`).
  ImageKeeper(int64_t budget_bytes, Duration grace, int64_t log_cap_bytes);

  // The images built here as the engine lists them now, and the references (tags or ids) that
  // services and previous generations use now.
  void Update(const std::vector<ImageInfo>& built, const std::set<std::string>& in_use,
              SteadyTime now);

  // Bytes counted against the budget with `containers` containers kept.
  int64_t UsedBytes(size_t containers) const;
  int64_t budget_bytes() const { return budget_bytes_; }
  // The bytes the image counts for (0 when it is not one built here).
  int64_t BytesOf(const std::string& reference) const;

  // The references to remove (every tag, else the id) of the unused images whose grace has run
  // out at `now`, oldest unused first.
  std::vector<std::string> Expired(SteadyTime now) const;
  // When the next unused image's grace runs out; nullopt when none is unused.
  std::optional<SteadyTime> NextExpiry() const;

  // What to remove, oldest unused first, so that the count with `containers` containers fits the
  // budget: `fits` false when removing every unused image would not be enough (`remove` is then
  // empty: a short budget is no reason to lose images that are still in their grace).
  struct Room {
    bool fits = true;
    std::vector<std::string> remove;
    int64_t used_after = 0;
  };
  Room MakeRoom(size_t containers) const;

  // The image named by `reference` was removed.
  void Removed(const std::string& reference);

 private:
  struct Image {
    std::string id;
    std::vector<std::string> tags;
    int64_t bytes = 0;
    std::optional<SteadyTime> unused_since;
  };
  static std::vector<std::string> References(const Image& image);
  // Unused images, oldest unused first, ties by id.
  std::vector<const Image*> UnusedOldestFirst() const;

  int64_t budget_bytes_;
  Duration grace_;
  int64_t log_cap_bytes_;
  std::map<std::string, Image> images_;  // by id
};

}  // namespace spawn
