#include "spawn/common/yaml_fields.h"

#include <algorithm>
#include <utility>

namespace spawn {

std::string Describe(const YAML::Node& node) {
  if (node.IsScalar()) return Quoted(node.Scalar());
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

Status FieldReader::Read(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull())
    return Status::BadRequest(source_ + ": the file is empty");
  if (!root.IsMap()) {
    return Status::BadRequest(Where(root) + "expected a map of key: value pairs");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    auto it = setters_.find(key);
    if (it == setters_.end()) {
      std::string known;
      for (const auto& [name, unused] : setters_) known += (known.empty() ? "" : ", ") + name;
      return Status::BadRequest(Where(entry.first) + "unknown key " + Quoted(key) +
                                "; expected one of " + known);
    }
    const auto alias = canonical_.find(key);
    const std::string canonical = alias == canonical_.end() ? key : alias->second;
    if (Seen(canonical)) {
      const std::string also =
          canonical == key ? "" : " (" + key + " is another name for " + canonical + ")";
      return Status::BadRequest(Where(entry.first) + key + ": given twice" + also +
                                "; expected each key once");
    }
    Status status = it->second(entry.second);
    if (!status.ok())
      return Status(status.code(), Where(entry.second) + key + ": " + status.message());
    seen_.push_back(canonical);
  }
  return Status::Ok();
}

namespace yaml_fields {
namespace {

// A scalar of at most 12 decimal digits, and nothing else.
bool WholeNumber(const YAML::Node& v, int64_t* n) {
  const std::string s = v.IsScalar() ? v.Scalar() : "";
  if (s.empty() || s.size() > 12) return false;
  *n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    *n = *n * 10 + (c - '0');
  }
  return true;
}

}  // namespace

FieldReader::Setter String(std::string* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) return Status::BadRequest(Describe(v) + " is not a string; expected text");
    *out = v.Scalar();
    return Status::Ok();
  };
}

FieldReader::Setter Bool(bool* out) {
  return [out](const YAML::Node& v) {
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes")
      *out = true;
    else if (s == "false" || s == "False" || s == "FALSE" || s == "no")
      *out = false;
    else
      return Status::BadRequest(Describe(v) + " is not a boolean; expected true or false");
    return Status::Ok();
  };
}

FieldReader::Setter PositiveInt(int64_t* out) {
  return [out](const YAML::Node& v) {
    int64_t n = 0;
    if (!WholeNumber(v, &n) || n <= 0) {
      return Status::BadRequest(Describe(v) + " is not a positive integer; expected e.g. 1024");
    }
    *out = n;
    return Status::Ok();
  };
}

FieldReader::Setter WholeNumberUpTo(int64_t* out, int64_t max, const std::string& expected) {
  return [out, max, expected](const YAML::Node& v) {
    int64_t n = 0;
    if (!WholeNumber(v, &n) || n > max) {
      return Status::BadRequest(Describe(v) + " is not " + expected);
    }
    *out = n;
    return Status::Ok();
  };
}

FieldReader::Setter Size(int64_t* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) {
      return Status::BadRequest(Describe(v) +
                                " is not a size; expected a number with M or G, like 512M");
    }
    auto parsed = ParseSize(v.Scalar());
    if (!parsed.ok()) return parsed.status();
    *out = *parsed;
    return Status::Ok();
  };
}

FieldReader::Setter DurationOf(Duration* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) {
      return Status::BadRequest(Describe(v) + " is not a duration; expected e.g. 30s or 1h30m");
    }
    auto parsed = ParseDuration(v.Scalar());
    if (!parsed.ok()) return parsed.status();
    *out = *parsed;
    return Status::Ok();
  };
}

FieldReader::Setter StringList(std::vector<std::string>* out,
                               std::function<Status(const std::string&)> check,
                               const char* expected) {
  return [out, check, expected](const YAML::Node& v) {
    if (v.IsNull()) {
      out->clear();
      return Status::Ok();
    }
    if (!v.IsSequence()) {
      return Status::BadRequest(Describe(v) + " is not a list; expected " + expected);
    }
    std::vector<std::string> items;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) {
        return Status::BadRequest("item " + std::to_string(i + 1) + " is " + Describe(v[i]) +
                                  "; expected a string");
      }
      if (check) {
        Status s = check(v[i].Scalar());
        if (!s.ok())
          return Status::BadRequest("item " + std::to_string(i + 1) + ": " + s.message());
      }
      items.push_back(v[i].Scalar());
    }
    *out = std::move(items);
    return Status::Ok();
  };
}

}  // namespace yaml_fields
}  // namespace spawn
