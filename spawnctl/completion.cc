#include "completion.h"

#include <set>
#include <sstream>
#include <vector>

namespace spawn {
namespace {

// One option or positional argument, as completion sees it.
struct Arg {
  std::vector<std::string> names;  // "-u", "--uri"; empty for a positional
  std::string value_name;          // "base", "shell"; "" for a flag
  std::string description;
  bool file = false;                 // completes file names
  std::vector<std::string> choices;  // completes these words
  bool required = false;
};

struct Command {
  std::string name, description;
  std::vector<Arg> options, positionals;
};

// CLI11 describes a check in the type name: "TEXT:FILE" for CLI::ExistingFile,
// "TEXT:{bash,zsh}" for CLI::IsMember.
Arg ArgOf(const CLI::Option& o) {
  Arg a;
  for (const auto& s : o.get_snames()) a.names.push_back("-" + s);
  for (const auto& l : o.get_lnames()) a.names.push_back("--" + l);
  a.description = o.get_description();
  a.required = o.get_required();
  if (o.get_expected_max() == 0) return a;  // a flag
  a.value_name = o.get_positional() ? o.get_name(true) : "value";
  const std::string type = o.get_type_name();
  a.file = type.find("FILE") != std::string::npos;
  const size_t open = type.find('{'), close = type.find('}');
  if (open != std::string::npos && close != std::string::npos && open < close) {
    std::istringstream words(type.substr(open + 1, close - open - 1));
    for (std::string w; std::getline(words, w, ',');) a.choices.push_back(w);
  }
  return a;
}

// Visible options and positionals (CLI11 hides those of the group "").
Command CommandOf(const CLI::App& app) {
  Command c{app.get_name(), app.get_description(), {}, {}};
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;
    Arg a = ArgOf(*o);
    (o->nonpositional() ? c.options : c.positionals).push_back(a);
  }
  return c;
}

// A command group (`access host|operator|...`): its commands complete as the choices of a first
// positional, and their options (each name once) after it, so completion stays one level deep.
void AddGroupCommands(const CLI::App& group, Command& c) {
  const auto subs =
      group.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
  if (subs.empty()) return;
  Arg words;
  words.value_name = "command";
  words.required = true;
  std::set<std::vector<std::string>> seen;
  for (const Arg& a : c.options) seen.insert(a.names);
  for (const CLI::App* sub : subs) {
    words.choices.push_back(sub->get_name());
    const Command inner = CommandOf(*sub);
    for (const Arg& a : inner.options) {
      if (seen.insert(a.names).second) c.options.push_back(a);
    }
  }
  c.positionals.insert(c.positionals.begin(), words);
}

// The visible commands, each without the options it shares with `global` (--help, --help-all).
std::vector<Command> SubcommandsOf(const CLI::App& app, const Command& global) {
  std::set<std::vector<std::string>> shared;
  for (const Arg& a : global.options) shared.insert(a.names);
  std::vector<Command> out;
  for (const CLI::App* sub :
       app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    Command c = CommandOf(*sub);
    AddGroupCommands(*sub, c);
    std::erase_if(c.options, [&shared](const Arg& a) { return shared.count(a.names) > 0; });
    out.push_back(c);
  }
  return out;
}

std::string Join(const std::vector<std::string>& words, const std::string& sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

std::vector<std::string> NamesOf(const std::vector<Arg>& args) {
  std::vector<std::string> out;
  for (const Arg& a : args) out.insert(out.end(), a.names.begin(), a.names.end());
  return out;
}

// For a bash `case` pattern: the names of the options that take a value and match `keep`.
template <typename Keep>
std::string Pattern(const Command& global, const std::vector<Command>& subs, Keep keep) {
  std::set<std::string> names;
  auto add = [&](const Command& c) {
    for (const Arg& a : c.options) {
      if (!a.value_name.empty() && keep(a)) names.insert(a.names.begin(), a.names.end());
    }
  };
  add(global);
  for (const Command& c : subs) add(c);
  return Join({names.begin(), names.end()}, "|");
}

// `text` inside single quotes, for zsh.
std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// An _arguments description: brackets and colons escaped.
std::string ZshDescription(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string ZshAction(const Arg& a) {
  if (a.file) return "_files";
  if (!a.choices.empty()) return "(" + Join(a.choices, " ") + ")";
  return "";
}

// _arguments specs, one per line, each quoted.
std::string ZshSpecs(const Command& c, const std::string& indent) {
  std::ostringstream out;
  for (const Arg& a : c.options) {
    const std::string tail = "[" + ZshDescription(a.description) + "]" +
                             (a.value_name.empty() ? "" : ":" + a.value_name + ":" + ZshAction(a));
    if (a.names.size() == 1) {
      out << indent << Quoted(a.names[0] + tail) << "\n";
    } else {
      out << indent << Quoted("(" + Join(a.names, " ") + ")") << "{" << Join(a.names, ",") << "}"
          << Quoted(tail) << "\n";
    }
  }
  int position = 1;
  for (const Arg& a : c.positionals) {
    out << indent
        << Quoted(std::to_string(position++) + (a.required ? ":" : "::") + a.value_name + ":" +
                  ZshAction(a))
        << "\n";
  }
  return out.str();
}

}  // namespace

std::string BashCompletion(const CLI::App& app) {
  const Command global = CommandOf(app);
  const std::vector<Command> subs = SubcommandsOf(app, global);
  std::vector<std::string> sub_names;
  for (const Command& c : subs) sub_names.push_back(c.name);
  const std::string globals = Join(NamesOf(global.options), " ");
  std::ostringstream out;
  out << "# bash completion for " << app.get_name() << "\n"
      << "# Generated by `" << app.get_name()
      << " completion bash` from its own options: do not edit.\n"
      << "_spawnctl() {\n"
      << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
      << "  local cmd= i opts= words=\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    case \"${COMP_WORDS[i]}\" in\n"
      << "      " << Pattern(global, subs, [](const Arg&) { return true; })
      << ") ((i++)) ;;  # and its value\n"
      << "      -*) ;;\n"
      << "      *) [[ -n $cmd ]] || cmd=\"${COMP_WORDS[i]}\" ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  case \"$prev\" in\n"
      << "    " << Pattern(global, subs, [](const Arg& a) { return a.file; }) << ")\n"
      << "      compopt -o filenames 2>/dev/null\n"
      << "      mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
      << "      return ;;\n"
      << "    " << Pattern(global, subs, [](const Arg& a) { return !a.file; }) << ")\n"
      << "      COMPREPLY=()\n"
      << "      return ;;\n"
      << "  esac\n"
      << "  case \"$cmd\" in\n"
      << "    '') opts=\"" << globals << "\" words=\"" << Join(sub_names, " ") << "\" ;;\n";
  for (const Command& c : subs) {
    std::vector<std::string> words;
    for (const Arg& a : c.positionals)
      words.insert(words.end(), a.choices.begin(), a.choices.end());
    std::vector<std::string> opts = NamesOf(c.options);
    opts.push_back(globals);
    out << "    " << c.name << ") opts=\"" << Join(opts, " ") << "\" words=\"" << Join(words, " ")
        << "\" ;;\n";
  }
  out << "  esac\n"
      << "  if [[ $cur == -* ]]; then\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
      << "  else\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
      << "  fi\n"
      << "}\n"
      << "complete -F _spawnctl " << app.get_name() << "\n";
  return out.str();
}

std::string ZshCompletion(const CLI::App& app) {
  const Command global = CommandOf(app);
  const std::vector<Command> subs = SubcommandsOf(app, global);
  std::ostringstream out;
  out << "#compdef " << app.get_name() << "\n"
      << "# zsh completion for " << app.get_name() << ". Generated by `" << app.get_name()
      << " completion zsh` from its own options: do not edit.\n\n"
      << "_spawnctl() {\n"
      << "  local curcontext=\"$curcontext\" state line\n"
      << "  typeset -A opt_args\n"
      << "  local -a globals commands\n"
      << "  globals=(\n"
      << ZshSpecs(global, "    ") << "  )\n"
      << "  commands=(\n";
  for (const Command& c : subs) out << "    " << Quoted(c.name + ":" + c.description) << "\n";
  out << "  )\n"
      << "  _arguments -C $globals ': :->command' '*:: :->argument' && return\n"
      << "  case $state in\n"
      << "    command) _describe -t commands 'spawnctl command' commands ;;\n"
      << "    argument)\n"
      << "      case $words[1] in\n";
  for (const Command& c : subs) {
    out << "        " << c.name << ")\n"
        << "          _arguments $globals \\\n";
    std::istringstream specs(ZshSpecs(c, ""));
    for (std::string spec; std::getline(specs, spec);) out << "            " << spec << " \\\n";
    out << "          ;;\n";
  }
  out << "      esac ;;\n"
      << "  esac\n"
      << "}\n\n"
      << "# Autoloaded from fpath, this file is _spawnctl's body: define it, then run it. "
         "Sourced,\n"
      << "# register it.\n"
      << "if [[ $funcstack[1] == _spawnctl ]]; then\n"
      << "  _spawnctl \"$@\"\n"
      << "else\n"
      << "  compdef _spawnctl " << app.get_name() << "\n"
      << "fi\n";
  return out.str();
}

}  // namespace spawn
