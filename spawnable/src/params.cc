#include "spawn/spawnable/params.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "spawn/common/files.h"

namespace spawn {

Result<std::string> StripBlockComments(const std::string& text, const std::string& source) {
  std::string out;
  out.reserve(text.size());
  char quote = 0;             // the quote of the scalar we are in, 0 outside
  bool line_comment = false;  // inside a # comment, up to the end of the line
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (line_comment) {
      if (c == '\n') line_comment = false;
      out.push_back(c);
      continue;
    }
    if (quote != 0) {
      out.push_back(c);
      if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      if (end == std::string::npos) {
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(i), '\n');
        return Status::BadRequest(source + ": line " + std::to_string(line) +
                                  ": a /* comment is not closed with */");
      }
      // Keep the newlines so YAML's line numbers still point into the file.
      for (size_t j = i; j < end + 2; ++j) {
        if (text[j] == '\n') out.push_back('\n');
      }
      out.push_back(' ');
      i = end + 1;
      continue;
    }
    if (c == '#' && (out.empty() || std::isspace(static_cast<unsigned char>(out.back())))) {
      line_comment = true;
    } else if ((c == '"' || c == '\'') &&
               (out.empty() || std::string(" \t\n:[{,-").find(out.back()) != std::string::npos)) {
      quote = c;  // a quote opens a scalar only where a scalar can start
    }
    out.push_back(c);
  }
  return out;
}

Result<Params> Params::Parse(const std::string& text, const std::string& source) {
  auto stripped = StripBlockComments(text, source);
  if (!stripped.ok()) return stripped.status();
  YAML::Node root;
  try {
    root = YAML::Load(*stripped);
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Params p;
  p.source_ = source;
  if (!root.IsDefined() || root.IsNull()) return p;
  if (!root.IsMap()) {
    return Status::BadRequest(source + ": expected a map of parameters (key: value) at the top");
  }
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) {
      return Status::BadRequest(source + ": line " + std::to_string(kv.first.Mark().line + 1) +
                                ": keys must be strings");
    }
  }
  p.root_ = root;
  return p;
}

std::vector<std::string> Params::Keys() const {
  std::vector<std::string> keys;
  for (const auto& kv : root_) keys.push_back(kv.first.Scalar());
  return keys;
}

Result<std::string> Params::String(const std::string& key) const {
  if (!Has(key)) return Missing(key);
  return Convert<std::string>(key);
}

Result<int64_t> Params::Int(const std::string& key) const {
  if (!Has(key)) return Missing(key);
  return Convert<int64_t>(key);
}

Result<std::vector<std::string>> Params::StringSlice(const std::string& key) const {
  if (!Has(key)) return Missing(key);
  return Convert<std::vector<std::string>>(key);
}

Status Params::Missing(const std::string& key) const {
  return Status::NotFound(source_ + ": missing parameter \"" + key + "\"");
}

Status Params::Malformed(const std::string& key, const std::string& expected) const {
  return Status::BadRequest(source_ + ": " + key + ": " + Describe(root_[key]) + " is not " +
                            expected);
}

std::string Params::Describe(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "an empty value";
}

void Params::ExitWith(const Status& status) {
  std::cerr << status.message() << std::endl;
  std::exit(1);
}

Result<Params> GetParams() { return GetParamsFile(kDefaultParamsFile); }

Result<Params> GetParamsFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return Status::NotFound(path + ": cannot read the parameters file");
  return Params::Parse(*text, path);
}

Params GetParamsOrExit() { return GetParamsFileOrExit(kDefaultParamsFile); }

Params GetParamsFileOrExit(const std::string& path) {
  auto p = GetParamsFile(path);
  if (!p.ok()) {
    std::cerr << p.status().message() << std::endl;
    std::exit(1);
  }
  return std::move(p).value();
}

std::map<std::string, std::string> MergeMetadata(
    std::map<std::string, std::string> base, const std::map<std::string, std::string>& overrides) {
  for (const auto& [k, v] : overrides) base[k] = v;
  return base;
}

}  // namespace spawn
