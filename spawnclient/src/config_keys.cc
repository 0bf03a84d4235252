#include "spawn/client/config_keys.h"

#include <cctype>
#include <sstream>
#include <vector>

namespace spawn {
namespace {

// In the order the README and the man page list them.
constexpr ConfigKey kDeployKeys[] = {
    {"name", "", "service name; `spawnctl deploy -n` overrides it", true, "", "", "demosvc"},
    {"image", "container", "base image of the service's container", false, "",
     "spawnd's `defaultImage`", "spawnpoint/base:latest"},
    {"source", "", "an https git URL cloned into the build", false, "", "none",
     "https://github.com/example/demosvc.git"},
    {"aptRequires", "", "Debian packages installed into the image", false, "[]", "",
     "[ca-certificates, curl]"},
    {"build", "", "shell commands run while building the image, in order", false, "[]", "",
     "[make -C demosvc]"},
    {"run", "", "the command, as a list (argv; a single string is not split)", true, "", "",
     "[./demosvc, params.yml]"},
    {"memAlloc", "", "the service's memory reservation and hard limit: `512M`, `4G`", true, "", "",
     "512M"},
    {"cpuShares", "", "the service's CPU weight, 1024 per core", true, "", "", "1024"},
    {"autoRestart", "", "restart the service when it dies", false, "false", "", "true"},
    {"restartInt", "", "wait this long before restarting it (Go durations: `30s`, `1h30m`)", false,
     "0s", "", "30s"},
    {"maxRestartInt", "", "cap of the back-off for a service that keeps dying", false, "5m", "",
     "10m"},
    {"stopTimeout", "", "on stop, TERM, then KILL after this", false, "10s", "", "30s"},
    {"includedFiles", "",
     "files shipped into `/srv/spawnpoint/<base name>` (paths relative to the YAML)", false, "[]",
     "", "[params.yml]"},
    {"includedDirs", "", "directories shipped the same way, with all they hold", false, "[]", "",
     "[data]"},
    {"volumes", "", "named volumes mounted at `/srv/<name>`, kept from one deploy to the next",
     false, "[]", "", "[demosvc-data]"},
    {"overlayNet", "network",
     "a Docker network the container joins (made if missing), with the service's name as its "
     "alias there; not with `useHostNet`",
     false, "", "none", "svcnet"},
    {"useHostNet", "",
     "use the host's network (only where spawnd's `allowHostNet` is true); not with `overlayNet`",
     false, "false", "", "true"},
    {"devices", "",
     "device mappings `/dev/x[:/dev/y[:rwm]]` (only where spawnd's `allowDeviceMappings` is true)",
     false, "[]", "", "[/dev/ttyUSB0]"},
    {"env", "", "environment entries `KEY=value`", false, "[]", "", "[LOG_LEVEL=debug]"},
    {"entity", "",
     "credentials file, given to the container read-only as `/run/spawnpoint/entity.key` "
     "(`SPAWNPOINT_ENTITY`)",
     false, "", "none", "demosvc.key"},
    {"pidsLimit", "", "the most processes and threads the service may have at once", false, "",
     "spawnd's `pidsLimit`", "100"},
    {"readOnly", "", "a read-only root filesystem, with a fresh tmpfs at `/tmp`", false, "false",
     "", "true"},
    {"user", "", "run as this user: `UID` or `UID:GID`, numbers only", false, "",
     "the image's user", "1000:1000"},
    {"healthCheck", "",
     "a map: `cmd: [...]` (run in the container by the engine) or `http: "
     "http://127.0.0.1:PORT/path` (probed by spawnd; the host stands for the container) with "
     "`expect:` a regular expression the body must match; `interval` (10s), `timeout` (2s), "
     "`retries` (3), `startPeriod` (0s); unhealthy with `autoRestart` restarts it",
     false, "", "none", "{http: \"http://127.0.0.1:8080/health\", expect: ok}"},
    {"labels", "",
     "`key: value` pairs the service carries in its heartbeat and on its container (the fleet "
     "marks its replicas with `spawnpoint.fleet/` ones)",
     false, "{}", "", "{team: web}"},
};

constexpr ConfigKey kSpawndKeys[] = {
    {"path", "", "the spawnpoint's base topic", true, "", "", "scratch.ns/spawnpoint/alpha"},
    {"alias", "", "short human name; it names the containers", false, "", "last element of `path`",
     "alpha"},
    {"broker", "", "MQTT broker URI (`tcp://`, `ssl://`)", false, "tcp://127.0.0.1:1883", "",
     "ssl://broker.example.org:8883"},
    {"containerBroker", "containerRouter",
     "broker URI handed to services (their `SPAWNPOINT_BROKER`)", false, "", "`broker`",
     "tcp://172.17.0.1:1883"},
    {"username", "", "broker user name", false, "", "none", "alpha"},
    {"passwordFile", "", "file holding the broker password", false, "", "none",
     "/etc/spawnd/password"},
    {"caFile", "", "CA certificate of an `ssl://` broker", false, "", "none", "/etc/spawnd/ca.crt"},
    {"certFile", "", "client certificate", false, "", "none", "/etc/spawnd/alpha.crt"},
    {"keyFile", "", "client private key", false, "", "none", "/etc/spawnd/alpha.key"},
    {"mqttVersion", "",
     "MQTT version spoken to the broker: `5`, or `3.1.1` for a broker that speaks nothing newer "
     "(then commands do not expire and refused publishes go unannounced)",
     false, "5", "", "3.1.1"},
    {"sessionExpiry", "",
     "MQTT 5: how long the broker keeps spawnd's session, and queues its commands, while spawnd is "
     "away (at least `1s`)",
     false, "168h", "", "720h"},
    {"memAlloc", "", "memory pool for services: `512M`, `4G`", true, "", "", "4G"},
    {"cpuShares", "", "CPU-share pool, 1024 per core", true, "", "", "4096"},
    {"zombiePeriod", "", "how long a stopped or dead service stays visible and restartable", false,
     "2m", "", "5m"},
    {"heartbeatInterval", "",
     "how often the spawnpoint heartbeat goes out, and the services' usage is sampled (a service's "
     "heartbeat goes out only when it changed: see the heartbeat deadbands)",
     false, "5s", "", "10s"},
    {"heartbeatMemDeadband", "",
     "a service's heartbeat goes out for its memory use only when it moved by more than this and "
     "than `heartbeatMemDeadbandPercent` of the figure last published",
     false, "1M", "", "4M"},
    {"heartbeatMemDeadbandPercent", "", "the same, in % of the figure last published (0 to 100)",
     false, "10", "", "20"},
    {"heartbeatCpuDeadband", "",
     "a service's heartbeat goes out for its CPU use only when it moved by more than this many "
     "points (100 = one core) from the figure last published, in two samples in a row",
     false, "5", "", "10"},
    {"allowHostNet", "", "whether services may ask for host networking (`useHostNet`)", false,
     "false", "", "true"},
    {"allowDeviceMappings", "", "whether services may map devices (`devices`)", false, "false", "",
     "true"},
    {"stateDir", "",
     "where spawnd keeps what it must not lose: each service's record, archive and entity, "
     "`secrets/` (what each container is given at `/run/spawnpoint`) and `commands/` (the command "
     "journal)",
     false, "/var/lib/spawnd", "", "/srv/spawnd"},
    {"dockerSocket", "", "the engine's socket", false, "/var/run/docker.sock", "",
     "/run/docker.sock"},
    {"defaultImage", "", "image for services that name none", false, "spawnpoint/base:latest", "",
     "debian:12"},
    {"pidsLimit", "", "the most processes and threads of a service whose deploy.yml gives none",
     false, "1024", "", "4096"},
    {"diskAlloc", "",
     "disk budget for the images spawnd builds and its services' logs (each counted at its 50 MiB "
     "cap; the engine cannot cap a container's writable layer, so that is not counted): a build "
     "past it fails with 507",
     false, "", "no budget", "20G"},
    {"imageGrace", "",
     "how long an image spawnd built and no service (nor a previous generation) uses is kept; at "
     "once when the disk budget is short",
     false, "1h", "", "24h"},
    {"serviceUsername", "",
     "broker user name handed to every service (the services identity `spawnctl access host` "
     "makes)",
     false, "", "none", "sp-svc:scratch.ns/spawnpoint/alpha"},
    {"servicePasswordFile", "", "file holding the services identity's password", false, "", "none",
     "/etc/spawnd/services.password"},
    {"fleet", "",
     "also run the fleet's reconciler for a base (`spawnctl fleet`): a map of `base`, and the "
     "`username` and `passwordFile` of an operator of that base it acts as",
     false, "", "none",
     "{base: scratch.ns/spawnpoint, username: fleet-op, passwordFile: "
     "/etc/spawnd/fleet.password}"},
    // The original's keys for BOSSWAVE: accepted, so its files still load, with a warning.
    {"entity", "",
     "ignored, with a warning (the original's BOSSWAVE entity): give `username` and "
     "`passwordFile` instead",
     false, "", "none", "/etc/spawnd/alpha.ent"},
    {"localRouter", "",
     "ignored, with a warning (the original's BOSSWAVE agent): give `broker` instead", false, "",
     "none", "127.0.0.1:28589"},
};

const ConfigFileDoc kDeployDoc = {
    "deploy.yml",
    "the configuration of a service run by a spawnpoint",
    "spawnctl deploy -u PATH -c deploy.yml",
    "A deploy.yml describes one service: the image it is built from, what is installed and run in "
    "it, the memory and CPU shares it reserves on the spawnpoint and the files shipped with it. "
    "`spawnctl deploy` reads it, packs the included files, and sends it to the spawnpoint, which "
    "checks it again with the same parser.\n\n"
    "Keys are case-sensitive; unknown keys, a key given twice, and malformed values are errors "
    "naming the key, the value and what was expected. Paths are relative to the file's folder. "
    "`spawnctl example` prints a commented deploy.yml with every key.",
    kDeployKeys,
};

const ConfigFileDoc kSpawndDoc = {
    "spawnd.yml",
    "the configuration of a spawnpoint daemon",
    "spawnd run -c spawnd.yml [-m metadata.yml]",
    "A spawnd.yml configures one spawnpoint: its base topic on the MQTT broker, the broker and its "
    "credentials, the memory and CPU-share pool its services share, and where it keeps its "
    "state. The Debian package's unit reads `/etc/spawnd/spawnd.yml`.\n\n"
    "Keys are case-sensitive; unknown keys, a key given twice, and malformed values are errors "
    "naming the key, the value and what was expected, e.g. `spawnd.yml:2: memAlloc: \"12X\" is "
    "not a size; expected a number with M or G, like 512M`. `spawnctl example spawnd.yml` prints "
    "a commented spawnd.yml with every key.",
    kSpawndKeys,
};

// `text` as comment lines of at most `width` columns (so that the man page's indented copy fits
// 80 columns), each starting with "# ".
void Comment(std::ostream& out, const std::string& text, size_t width = 72) {
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && 2 + line.size() + 1 + word.size() > width) {
      out << "# " << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out << "# " << line << "\n";
}

}  // namespace

const ConfigFileDoc& DeployYamlDoc() { return kDeployDoc; }
const ConfigFileDoc& SpawndYamlDoc() { return kSpawndDoc; }

std::string PlainText(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '`') out += c;
  }
  return out;
}

std::string ExampleYaml(const ConfigFileDoc& doc, const std::string& version) {
  std::ostringstream out;
  Comment(out, std::string(doc.file) + ": " + std::string(doc.summary) + " (spawnpoint " + version +
                   "). Used as: " + std::string(doc.usage) +
                   ". Every key is listed: the required ones are set, every other one is "
                   "commented out with an example value, and its default is in the comment "
                   "above it. Unknown keys are errors.");
  for (const ConfigKey& k : doc.keys) {
    // The meaning as a sentence, without the key's name: uncommenting a line never makes a
    // description a key.
    std::string about = PlainText(k.meaning);
    if (!about.empty())
      about[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(about[0])));
    about += ".";
    if (!k.alias.empty()) about += " Also called " + std::string(k.alias) + ".";
    if (k.required) {
      about += " Required.";
    } else if (!k.default_value.empty()) {
      about += " Default: " + std::string(k.default_value) + ".";
    } else {
      about += " Default: " + PlainText(k.default_note) + ".";
    }
    out << "\n";
    Comment(out, about);
    out << (k.required ? "" : "# ") << k.key << ": " << k.example << "\n";
  }
  return out.str();
}

}  // namespace spawn
