// Reading a YAML map key by key, as every config file here is read: FieldReader, and setters for
// the common kinds of value (yaml_fields::String, Bool, Size, DurationOf, ...), each refusing a
// value with a message that names it and says what was expected. In-tree only (not installed).
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "spawn/common/quoted.h"
#include "spawn/common/status.h"
#include "spawn/common/units.h"

namespace spawn {

// How a node reads in an error: its text quoted, or "a list", "a map", "nothing".
std::string Describe(const YAML::Node& node);

// Reads one mapping node key by key. Every error carries "<source>:<line>: <key>: ..." so a person
// can find the spot, and names the value and what was expected.
class FieldReader {
 public:
  using Setter = std::function<Status(const YAML::Node& value)>;

  explicit FieldReader(std::string source) : source_(std::move(source)) {}

  // `same_as` makes `key` another name for that key (image/container): giving both is an error,
  // as giving one key twice is; YAML itself would let the last one win without a word.
  void On(const std::string& key, Setter setter, const std::string& same_as = "") {
    setters_[key] = std::move(setter);
    if (!same_as.empty()) canonical_[key] = same_as;
  }

  // Reads every key of `root` through its setter; the first error, with where it is, or Ok.
  Status Read(const YAML::Node& root);

  bool Seen(const std::string& key) const {
    return std::find(seen_.begin(), seen_.end(), key) != seen_.end();
  }

  std::string Where(const YAML::Node& node) const {
    if (source_.empty()) return "";  // a nested map: the outer reader says where
    const YAML::Mark mark = node.Mark();
    if (mark.line >= 0 && !node.IsNull())
      return source_ + ":" + std::to_string(mark.line + 1) + ": ";
    return source_ + ": ";
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, Setter> setters_;
  std::map<std::string, std::string> canonical_;  // alias -> the key it stands for
  std::vector<std::string> seen_;                 // canonical names, at most one per setter
};

namespace yaml_fields {

FieldReader::Setter String(std::string* out);
FieldReader::Setter Bool(bool* out);
FieldReader::Setter PositiveInt(int64_t* out);
// A whole number from 0 to `max`; `expected` completes "is not ..." in the error.
FieldReader::Setter WholeNumberUpTo(int64_t* out, int64_t max, const std::string& expected);
FieldReader::Setter Size(int64_t* out);
FieldReader::Setter DurationOf(Duration* out);

inline constexpr const char* kAnyList = "a list of strings, like [a, b]";
// A list of strings (null: none). `check` validates each element; `expected` describes the list
// in errors.
FieldReader::Setter StringList(std::vector<std::string>* out,
                               std::function<Status(const std::string&)> check = nullptr,
                               const char* expected = kAnyList);

}  // namespace yaml_fields
}  // namespace spawn
