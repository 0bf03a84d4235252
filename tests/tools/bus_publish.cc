// spawnpoint-bus-publish: a service for tests that connects exactly as a spawnable service does
// (Service::ConnectFromEnvironment: the broker, credentials and CA file spawnd handed it) and then
// publishes one message to each topic given, printing one line per topic:
//   publish <topic>: ok
//   publish <topic>: refused (<the broker's reason>)
// then "done" and sleeps, so spawnd keeps it running and its log holds the lines. A topic of the
// form "@own/REST" is REST under the service's own topic.
// Usage: spawnpoint-bus-publish TOPIC...
#include <unistd.h>

#include <cstdio>
#include <string>

#include "spawn/spawnable/service.h"

int main(int argc, char** argv) {
  auto service = spawn::Service::ConnectFromEnvironment();
  if (!service.ok()) {
    std::printf("connect: %s\n", service.status().ToString().c_str());
    std::fflush(stdout);
    return 69;
  }
  const std::string own = (*service)->environment().service_topic;
  for (int i = 1; i < argc; ++i) {
    std::string topic = argv[i];
    if (topic.rfind("@own/", 0) == 0) topic = own + topic.substr(4);
    const spawn::Status published = (*service)->bus().Publish({topic, "probe", 1, false});
    std::printf("publish %s: %s\n", topic.c_str(),
                published.ok() ? "ok" : ("refused (" + published.message() + ")").c_str());
  }
  std::printf("done\n");
  std::fflush(stdout);
  for (;;) pause();
}
