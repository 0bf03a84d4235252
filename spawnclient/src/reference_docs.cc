#include "spawn/client/reference_docs.h"

#include <cctype>
#include <sstream>
#include <vector>

#include "spawn/client/exit_codes.h"

namespace spawn {
namespace {

std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string CodeSpan(std::string_view text) { return "`" + std::string(text) + "`"; }

std::string KeyCell(const ConfigKey& k) {
  std::string cell = CodeSpan(k.key);
  if (!k.alias.empty()) cell += " (alias " + CodeSpan(k.alias) + ")";
  return cell;
}

std::string DefaultCell(const ConfigKey& k) {
  if (k.required) return "required";
  if (!k.default_value.empty()) return CodeSpan(k.default_value);
  return std::string(k.default_note);
}

// `text` as one roff line, every character taken literally (for nofill blocks).
std::string RoffLiteral(std::string_view text) {
  std::string out;
  if (!text.empty() && (text[0] == '.' || text[0] == '\'')) out += "\\&";
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

// Sentence case for the man page, whose items read as sentences ("Service name; ...").
std::string Capitalised(std::string text) {
  if (!text.empty() && std::islower(static_cast<unsigned char>(text[0]))) {
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  }
  return text;
}

std::vector<std::string_view> Paragraphs(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = text.find("\n\n");
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return out;
}

}  // namespace

std::string MarkdownKeyTable(const ConfigFileDoc& doc) {
  std::ostringstream out;
  out << "| key | meaning | default | example |\n| --- | --- | --- | --- |\n";
  for (const ConfigKey& k : doc.keys) {
    out << "| " << Cell(KeyCell(k)) << " | " << Cell(k.meaning) << " | " << Cell(DefaultCell(k))
        << " | " << Cell(CodeSpan(k.example)) << " |\n";
  }
  return out.str();
}

std::string MarkdownExitCodeTable() {
  std::ostringstream out;
  out << "| code | meaning |\n| --- | --- |\n";
  for (const ExitCodeDoc& e : ExitCodeTable()) {
    out << "| " << static_cast<int>(e.code) << " | " << Cell(e.meaning) << " |\n";
  }
  return out.str();
}

Result<std::string> UpdateReadmeTables(const std::string& readme) {
  const std::string kOpen = "<!-- spawn_docgen: ", kClose = " -->";
  std::istringstream in(readme);
  std::ostringstream out;
  std::vector<std::string> seen;
  std::string line;
  bool skipping_table = false;  // dropping the old table that follows a marker
  while (std::getline(in, line)) {
    if (skipping_table && line.rfind("|", 0) == 0) continue;
    skipping_table = false;
    out << line << "\n";
    if (line.rfind(kOpen, 0) != 0 || line.size() < kOpen.size() + kClose.size() ||
        line.compare(line.size() - kClose.size(), kClose.size(), kClose) != 0) {
      continue;
    }
    const std::string name = line.substr(kOpen.size(), line.size() - kOpen.size() - kClose.size());
    std::string table;
    if (name == kReadmeTables[0]) {
      table = MarkdownKeyTable(DeployYamlDoc());
    } else if (name == kReadmeTables[1]) {
      table = MarkdownKeyTable(SpawndYamlDoc());
    } else if (name == kReadmeTables[2]) {
      table = MarkdownExitCodeTable();
    } else {
      return Status::BadRequest("unknown generated table \"" + name + "\" in " + line);
    }
    for (const auto& s : seen) {
      if (s == name) return Status::BadRequest("table \"" + name + "\" is there twice");
    }
    seen.push_back(name);
    if (in.peek() != '|') {
      return Status::BadRequest("no table right after the marker " + line);
    }
    out << table;
    skipping_table = true;
  }
  if (seen.size() != std::size(kReadmeTables)) {
    for (std::string_view name : kReadmeTables) {
      bool found = false;
      for (const auto& s : seen) found = found || s == name;
      if (!found) {
        return Status::BadRequest("no marker " + kOpen + std::string(name) + kClose +
                                  " before the table it names");
      }
    }
  }
  std::string updated = out.str();
  // getline() cannot tell whether the last line had a newline: keep the input's ending.
  if (!readme.empty() && readme.back() != '\n' && !updated.empty()) updated.pop_back();
  return updated;
}

std::string ExitCodeHelp(size_t width) {
  constexpr size_t kIndent = 7;  // "  130  "
  std::ostringstream out;
  out << "Exit status:\n";
  for (const ExitCodeDoc& e : ExitCodeTable()) {
    std::string line = "  " + std::to_string(static_cast<int>(e.code));
    line.resize(kIndent, ' ');
    std::istringstream words(PlainText(e.meaning));
    std::string word;
    size_t filled = 0;  // words on the current line
    while (words >> word) {
      if (filled > 0 && line.size() + 1 + word.size() > width) {
        out << line << "\n";
        line.assign(kIndent, ' ');
        filled = 0;
      }
      line += (filled++ > 0 ? " " : "") + word;
    }
    out << line << "\n";
  }
  return out.str();
}

std::string RoffText(std::string_view text) {
  std::string out;
  bool code = false;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '`') {
      out += code ? "\\fR" : "\\fB\\%";  // \% : no hyphenation inside a name or a value
      code = !code;
    } else if (c == ' ' && code) {
      out += " \\%";
    } else if (c == '\\') {
      out += "\\e";
    } else if (c == '-' && code) {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (code) out += "\\fR";
  return out;
}

std::string ConfigManPage(const ConfigFileDoc& doc, const std::string& version) {
  std::string title;
  for (char c : doc.file) title += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::ostringstream out;
  out << ".\\\" Generated by spawn_docgen from spawnclient's config_keys.cc: edit that, not this.\n"
      << ".TH " << title << " 5 \"\" \"spawnpoint " << version << "\" \"File Formats Manual\"\n"
      << ".SH NAME\n"
      << RoffLiteral(doc.file) << " \\- " << RoffText(doc.summary) << "\n"
      << ".SH SYNOPSIS\n"
      << "\\fB" << RoffLiteral(doc.usage) << "\\fR\n"
      << ".SH DESCRIPTION\n";
  bool first = true;
  for (std::string_view paragraph : Paragraphs(doc.description)) {
    if (!first) out << ".PP\n";
    first = false;
    out << RoffText(paragraph) << "\n";
  }
  out << ".SH KEYS\n";
  for (const ConfigKey& k : doc.keys) {
    out << ".TP\n" << RoffText(KeyCell(k)) << "\n" << RoffText(Capitalised(std::string(k.meaning)));
    out << ".\n.br\n";
    if (k.required) {
      out << "Required. Example: ";
    } else {
      out << "Default: " << RoffText(DefaultCell(k)) << ". Example: ";
    }
    out << RoffText(CodeSpan(k.example)) << ".\n";
  }
  out << ".SH EXAMPLE\n"
      << "The output of \\fBspawnctl example " << RoffLiteral(doc.file) << "\\fR:\n"
      << ".PP\n.nf\n";
  std::istringstream example(ExampleYaml(doc, version));
  for (std::string line; std::getline(example, line);) out << RoffLiteral(line) << "\n";
  out << ".fi\n.SH SEE ALSO\n";
  const std::string_view pages[][2] = {
      {"spawnctl", "1"}, {"spawnd", "8"}, {"deploy.yml", "5"}, {"spawnd.yml", "5"}};
  std::vector<std::string> see_also;
  for (const auto& [name, section] : pages) {
    if (name != doc.file)
      see_also.push_back(".BR " + std::string(name) + " (" + std::string(section) + ")");
  }
  for (size_t i = 0; i < see_also.size(); ++i)
    out << see_also[i] << (i + 1 < see_also.size() ? ",\n" : "\n");
  return out.str();
}

}  // namespace spawn
