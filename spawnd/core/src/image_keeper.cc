#include "image_keeper.h"

#include <algorithm>
#include <charconv>

namespace spawn {

ImageKeeper::ImageKeeper(int64_t budget_bytes, Duration grace, int64_t log_cap_bytes)
    : budget_bytes_(budget_bytes), grace_(grace), log_cap_bytes_(log_cap_bytes) {}

void ImageKeeper::Update(const std::vector<ImageInfo>& built, const std::set<std::string>& in_use,
                         SteadyTime now) {
  std::map<std::string, Image> next;
  for (const ImageInfo& info : built) {
    Image image;
    image.id = info.id;
    image.tags = info.tags;
    int64_t base = 0;
    if (auto it = info.labels.find(kBaseBytesLabel); it != info.labels.end()) {
      const std::string& v = it->second;
      std::from_chars(v.data(), v.data() + v.size(), base);
    }
    image.bytes = std::max<int64_t>(0, info.size_bytes - std::max<int64_t>(0, base));
    const bool used = in_use.count(image.id) > 0 ||
                      std::any_of(image.tags.begin(), image.tags.end(),
                                  [&](const std::string& t) { return in_use.count(t) > 0; });
    if (!used) {
      auto old = images_.find(image.id);
      image.unused_since =
          old != images_.end() && old->second.unused_since ? *old->second.unused_since : now;
    }
    next[image.id] = std::move(image);
  }
  images_ = std::move(next);
}

int64_t ImageKeeper::UsedBytes(size_t containers) const {
  int64_t used = static_cast<int64_t>(containers) * log_cap_bytes_;
  for (const auto& [id, image] : images_) used += image.bytes;
  return used;
}

int64_t ImageKeeper::BytesOf(const std::string& reference) const {
  for (const auto& [id, image] : images_) {
    if (id == reference ||
        std::find(image.tags.begin(), image.tags.end(), reference) != image.tags.end())
      return image.bytes;
  }
  return 0;
}

std::vector<std::string> ImageKeeper::References(const Image& image) {
  // Removing by id fails while several tags name the image: each tag goes, the last takes it.
  if (image.tags.empty()) return {image.id};
  return image.tags;
}

std::vector<const ImageKeeper::Image*> ImageKeeper::UnusedOldestFirst() const {
  std::vector<const Image*> out;
  for (const auto& [id, image] : images_) {
    if (image.unused_since) out.push_back(&image);
  }
  std::stable_sort(out.begin(), out.end(), [](const Image* a, const Image* b) {
    return *a->unused_since < *b->unused_since;  // images_ is by id: ties stay in id order
  });
  return out;
}

std::vector<std::string> ImageKeeper::Expired(SteadyTime now) const {
  std::vector<std::string> out;
  for (const Image* image : UnusedOldestFirst()) {
    if (*image->unused_since + grace_ > now) continue;
    for (auto& ref : References(*image)) out.push_back(std::move(ref));
  }
  return out;
}

std::optional<SteadyTime> ImageKeeper::NextExpiry() const {
  auto unused = UnusedOldestFirst();
  if (unused.empty()) return std::nullopt;
  return *unused.front()->unused_since + grace_;
}

ImageKeeper::Room ImageKeeper::MakeRoom(size_t containers) const {
  Room room;
  room.used_after = UsedBytes(containers);
  if (budget_bytes_ <= 0 || room.used_after <= budget_bytes_) return room;
  for (const Image* image : UnusedOldestFirst()) {
    if (room.used_after <= budget_bytes_) break;
    room.used_after -= image->bytes;
    for (auto& ref : References(*image)) room.remove.push_back(std::move(ref));
  }
  room.fits = room.used_after <= budget_bytes_;
  if (!room.fits) {
    room.remove.clear();
    room.used_after = UsedBytes(containers);
  }
  return room;
}

void ImageKeeper::Removed(const std::string& reference) {
  for (auto it = images_.begin(); it != images_.end(); ++it) {
    Image& image = it->second;
    if (it->first == reference) {
      images_.erase(it);
      return;
    }
    auto tag = std::find(image.tags.begin(), image.tags.end(), reference);
    if (tag == image.tags.end()) continue;
    image.tags.erase(tag);
    if (image.tags.empty()) images_.erase(it);
    return;
  }
}

}  // namespace spawn
