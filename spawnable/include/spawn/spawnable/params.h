// Params: the key/value parameters of a service, read from a YAML file ("params.yml" by default,
// shipped in with the deploy's includedFiles) as in the original Spawnpoint's GetParams.
//
// The file is a YAML map at the top level. `/* ... */` comments are stripped before parsing (as the
// original did) in addition to YAML's own `#` comments; line numbers in errors still match the
// file. Every error names the file and, for a getter, the key and what was expected, e.g.
//   params.yml: count: "ten" is not an integer
// Getters come in three forms: Get<T>(key, fallback) gives the fallback when the key is absent and
// an error when it is present but malformed; String/Int/StringSlice return Result; MustString,
// MustInt, MustStringSlice and Must<T> print the error to stderr and exit(1), for the top of
// main(). A Params is immutable once made: const methods are safe from any number of threads.
// yaml-cpp is part of this interface, on purpose: Get<T> converts to any type yaml-cpp can convert,
// a service's own YAML::convert<T> included, so spawn::spawnable links yaml-cpp publicly.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"
#include "spawn/common/units.h"

namespace spawn {

inline constexpr char kDefaultParamsFile[] = "params.yml";

template <typename T>
struct IsChronoDuration : std::false_type {};
template <typename Rep, typename Period>
struct IsChronoDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

class Params {
 public:
  Params() = default;  // empty: every Get gives its fallback

  // Parses `text`; `source` names it in errors (a file name). An empty text is an empty map; a
  // top-level value that is not a map, bad YAML or an unterminated /* comment are 400 errors.
  static Result<Params> Parse(const std::string& text, const std::string& source);

  bool Has(const std::string& key) const { return root_[key].IsDefined(); }
  std::vector<std::string> Keys() const;
  const std::string& source() const { return source_; }

  Result<std::string> String(const std::string& key) const;
  Result<int64_t> Int(const std::string& key) const;
  Result<std::vector<std::string>> StringSlice(const std::string& key) const;

  // `fallback` when the key is absent; the value converted to T when present; an error naming key
  // and file when it does not convert. T: std::string, bool, integers, double, Duration (a Go
  // duration string, "30s"; any std::chrono::duration), std::vector<std::string>,
  // std::map<std::string, std::string>, or any type yaml-cpp can convert.
  template <typename T>
  Result<T> Get(const std::string& key, T fallback) const {
    if (!Has(key)) return fallback;
    return Convert<T>(key);
  }
  Result<std::string> Get(const std::string& key, const char* fallback) const {
    return Get<std::string>(key, std::string(fallback));
  }

  // The value, or the error printed to stderr and exit(1).
  template <typename T>
  T Must(const std::string& key) const {
    Result<T> r = Has(key) ? Convert<T>(key) : Result<T>(Missing(key));
    if (!r.ok()) ExitWith(r.status());
    return std::move(r).value();
  }
  std::string MustString(const std::string& key) const { return Must<std::string>(key); }
  int64_t MustInt(const std::string& key) const { return Must<int64_t>(key); }
  std::vector<std::string> MustStringSlice(const std::string& key) const {
    return Must<std::vector<std::string>>(key);
  }

 private:
  template <typename T>
  Result<T> Convert(const std::string& key) const;
  Status Missing(const std::string& key) const;
  Status Malformed(const std::string& key, const std::string& expected) const;
  [[noreturn]] static void ExitWith(const Status& status);
  static std::string Describe(const YAML::Node& node);

  std::string source_ = "params";
  YAML::Node root_{YAML::NodeType::Map};
};

// Reads kDefaultParamsFile from the working directory (/srv/spawnpoint in a service container).
// 404 when the file is missing, 400 when it does not parse.
Result<Params> GetParams();
Result<Params> GetParamsFile(const std::string& path);
// As above, but prints the error to stderr and exits with status 1.
Params GetParamsOrExit();
Params GetParamsFileOrExit(const std::string& path);

// Removes /* ... */ comments outside quoted scalars and # comments, keeping the newlines they
// spanned. 400 on an unterminated comment.
Result<std::string> StripBlockComments(const std::string& text, const std::string& source);

// Metadata as published under <service topic>/!meta/<key>: `overrides` win over `base`.
std::map<std::string, std::string> MergeMetadata(
    std::map<std::string, std::string> base, const std::map<std::string, std::string>& overrides);

template <typename T>
Result<T> Params::Convert(const std::string& key) const {
  const YAML::Node node = root_[key];
  if constexpr (std::is_same_v<T, std::string>) {
    if (!node.IsScalar()) return Malformed(key, "a string");
    return node.Scalar();
  } else if constexpr (IsChronoDuration<T>::value) {
    if (!node.IsScalar()) return Malformed(key, "a duration like 30s");
    auto d = ParseDuration(node.Scalar());
    if (!d.ok()) return Status::BadRequest(source_ + ": " + key + ": " + d.status().message());
    return std::chrono::duration_cast<T>(*d);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!node.IsSequence()) return Malformed(key, "a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) {
      if (!item.IsScalar()) return Malformed(key, "a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  } else {
    const char* expected = "a value of the requested type";
    if constexpr (std::is_same_v<T, bool>) {
      expected = "true or false";
    } else if constexpr (std::is_integral_v<T>) {
      expected = "an integer";
    } else if constexpr (std::is_floating_point_v<T>) {
      expected = "a number";
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      expected = "a map of strings";
    }
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      return Malformed(key, expected);
    }
  }
}

}  // namespace spawn
