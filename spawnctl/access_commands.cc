#include "access_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "spawn/access/access_admin.h"
#include "spawn/access/listing.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

// Writes `secret` to `path` with mode 0600 (also when the file existed with another mode).
Status WriteSecretFile(const std::string& path, const std::string& secret) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::BadRequest("cannot write " + path + ": " + std::strerror(errno));
  bool ok = fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < secret.size()) {
    const ssize_t n = write(fd, secret.data() + done, secret.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int saved = errno;
  ok = (close(fd) == 0) && ok;
  if (!ok) return Status::Internal("cannot write " + path + ": " + std::strerror(saved));
  return Status::Ok();
}

// `dir` made with mode 0700 if missing; an existing one is left as it is.
Status MakePrivateDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::BadRequest("--out " + dir + " is not a directory; expected a directory");
  }
  return Status::BadRequest("cannot make --out " + dir + ": " + std::strerror(errno));
}

// A connected admin session on the plugin. The bus is left to the process's end after a clean
// disconnect, as Session does, because destroying it waits for Paho's threads.
class AdminConnection {
 public:
  ~AdminConnection() {
    if (bus_) bus_->Disconnect().IgnoreError();
    (void)dynsec_.release();
    (void)bus_.release();
  }
  Status Open(const Globals& g) {
    auto options = GlobalBusOptions(g);  // the admin's connection
    if (!options.ok()) return options.status();
    bus_ = MakePahoBus(*options);
    const Duration timeout = ParseDuration(g.timeout).value_or(std::chrono::seconds(30));
    dynsec_ = std::make_unique<access::DynsecClient>(*bus_, timeout);  // before Connect
    return bus_->Connect();
  }
  access::DynsecClient& dynsec() { return *dynsec_; }

 private:
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<access::DynsecClient> dynsec_;
};

const char* kAdminNote =
    "Connects with the global broker options, which must be the dynamic security plugin's "
    "admin (--username, --password-file, and --ca-file for ssl://).";

}  // namespace

AccessCommands::AccessCommands(CLI::App& app, const Globals& g) : g_(g) {
  access_ = app.add_subcommand(
      "access", "Manage who may do what on the broker (Mosquitto's dynamic security plugin)");
  access_->require_subcommand(1);
  access_->footer(kAdminNote);

  host_ = access_->add_subcommand(
      "host", "Make a spawnpoint's identity (sp:PATH) and its services' (sp-svc:PATH)");
  host_->add_option("path", path_, "the spawnpoint's path, BASE/<alias>")->required();
  host_->add_option("--out", out_, "directory for spawnd.password and services.password (0600)")
      ->required();
  host_->add_flag("--rotate", rotate_,
                  "the identities exist: give them new passwords (their rights stay)");
  host_->footer(
      "The host may publish under PATH/s.spawnpoint/# and read its own slots; its services may "
      "publish under PATH/s.spawnpoint/<service>/#, never under .../server. Without --rotate, a "
      "path that has identities already is refused. Prints the lines for spawnd.yml.");

  operator_ = access_->add_subcommand(
      "operator", "Make a user who may deploy, restart and stop on every spawnpoint of a base");
  viewer_ = access_->add_subcommand(
      "viewer", "Make a user who may scan, tail and read logs under a base, and nothing more");
  for (auto* sub : {operator_, viewer_}) {
    sub->add_option("name", name_, "the user name")->required();
    sub->add_option("--base", base_, "the base whose spawnpoints (BASE/<alias>) it may use")
        ->required();
    sub->add_option("--out", out_, "file for the password (0600); default: print it once");
    sub->footer("No user reads a spawnpoint's slots (its commands): only the host does.");
  }

  list_ = access_->add_subcommand("list", "List the broker's users and their roles (--json too)");
  revoke_ = access_->add_subcommand(
      "revoke", "Delete a user (the broker disconnects it) and the roles only it had");
  revoke_->add_option("username", username_, "the user, as access list shows it")->required();
}

int AccessCommands::Run() {
  if (host_->parsed()) return Host();
  if (operator_->parsed()) return User(true);
  if (viewer_->parsed()) return User(false);
  if (list_->parsed()) return List();
  if (revoke_->parsed()) return Revoke();
  return Fail(ExitCode::kUsage, "access: no command given (see access --help)");
}

int AccessCommands::Host() {
  // Everything that can be checked without the broker is checked first.
  if (Status s = access::ValidatePath(path_); !s.ok()) return Fail(s.WithContext("access host"));
  if (Status s = MakePrivateDir(out_); !s.ok()) return Fail(s);
  AdminConnection admin;
  if (Status s = admin.Open(g_); !s.ok()) return Fail(s);
  access::AccessAdmin access(admin.dynsec());
  auto made = rotate_ ? access.RotateHost(path_) : access.ProvisionHost(path_);
  if (!made.ok()) return Fail(made.status());
  const std::string host_file = out_ + "/spawnd.password",
                    services_file = out_ + "/services.password";
  if (Status s = WriteSecretFile(host_file, made->password); !s.ok()) return Fail(s);
  if (Status s = WriteSecretFile(services_file, made->services_password); !s.ok()) return Fail(s);
  std::cerr << (rotate_ ? "New passwords for " : "Made ") << made->username << " and "
            << made->services_username << "; for spawnd.yml:" << std::endl;
  std::cout << "path: " << made->path << "\nusername: " << made->username
            << "\npasswordFile: " << host_file << "\nserviceUsername: " << made->services_username
            << "\nservicePasswordFile: " << services_file << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

int AccessCommands::User(bool operator_role) {
  const std::string what = operator_role ? "access operator" : "access viewer";
  if (Status s = access::ValidateUserName(name_); !s.ok()) return Fail(s.WithContext(what));
  if (Status s = access::ValidateBase(base_); !s.ok()) return Fail(s.WithContext(what));
  AdminConnection admin;
  if (Status s = admin.Open(g_); !s.ok()) return Fail(s);
  access::AccessAdmin access(admin.dynsec());
  auto made =
      operator_role ? access.ProvisionOperator(name_, base_) : access.ProvisionViewer(name_, base_);
  if (!made.ok()) return Fail(made.status());
  std::cout << "username: " << made->username << std::endl;
  if (out_.empty()) {
    std::cout << "password: " << made->password << std::endl;
  } else {
    if (Status s = WriteSecretFile(out_, made->password); !s.ok()) return Fail(s);
    std::cout << "passwordFile: " << out_ << std::endl;
  }
  return static_cast<int>(ExitCode::kDone);
}

int AccessCommands::List() {
  AdminConnection admin;
  if (Status s = admin.Open(g_); !s.ok()) return Fail(s);
  access::AccessAdmin access(admin.dynsec());
  auto clients = access.List();
  if (!clients.ok()) return Fail(clients.status());
  std::cout << (g_.json ? access::FormatClientJson(*clients) : access::FormatClientTable(*clients))
            << std::flush;
  return static_cast<int>(ExitCode::kDone);
}

int AccessCommands::Revoke() {
  if (!g_.username.empty() && username_ == g_.username) {
    return Fail(ExitCode::kUsage, "access revoke: " + username_ +
                                      " is the user this command connects as; expected another");
  }
  AdminConnection admin;
  if (Status s = admin.Open(g_); !s.ok()) return Fail(s);
  access::AccessAdmin access(admin.dynsec());
  auto roles = access.Revoke(username_);
  if (!roles.ok()) return Fail(roles.status());
  std::string line = "Revoked " + username_;
  for (const auto& role : *roles)
    line += (role == roles->front() ? "; deleted role " : ", ") + role;
  std::cout << line << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

}  // namespace spawn
