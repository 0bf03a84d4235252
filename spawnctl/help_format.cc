#include "help_format.h"

#include <sstream>

namespace spawn {

std::string HelpAllFormatter::make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const {
  if (mode != CLI::AppFormatMode::All) return CLI::Formatter::make_subcommands(app, mode);
  std::ostringstream out;
  // Visible commands (CLI11 hides those of the group "").
  for (const CLI::App* sub :
       app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    out << "\n" << sub->help(sub->get_name(), CLI::AppFormatMode::Sub);
  }
  return out.str();
}

namespace {

// Every line two more columns in: under the command's description.
std::string Indented(const std::string& lines) {
  std::string out;
  bool line_start = true;
  for (char c : lines) {
    if (line_start && c != '\n') out += "  ";
    out += c;
    line_start = c == '\n';
  }
  return out;
}

}  // namespace

std::string HelpAllFormatter::make_expanded(const CLI::App* sub) const {
  // --help and --help-all are the same everywhere: the top of the page has them.
  const auto visible = [sub](const CLI::Option* o) {
    return !o->get_group().empty() && o != sub->get_help_ptr() && o != sub->get_help_all_ptr();
  };
  std::string heading =
      (sub->get_parent() ? sub->get_parent()->get_name() + " " : "") + sub->get_name();
  std::ostringstream positionals, options;
  std::string arguments;
  for (const CLI::Option* o : sub->get_options(visible)) {
    if (o->nonpositional()) {
      options << Indented(make_option(o, false));
    } else {
      const std::string name = o->get_name(true);
      arguments += " " + (o->get_required() ? name : "[" + name + "]");
      positionals << Indented(make_option(o, true));
    }
  }
  if (!options.str().empty()) heading += " [OPTIONS]";
  return heading + arguments + ":\n  " + sub->get_description() + "\n" + positionals.str() +
         options.str();
}

}  // namespace spawn
