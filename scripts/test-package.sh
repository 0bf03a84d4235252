#!/usr/bin/env bash
# Builds the Debian packages with CPack and proves them end to end:
#   1. `cpack -G DEB` in the build directory makes spawnpoint_<v>_<arch>.deb and spawnpoint-dev_...;
#      each holds what it should (binaries and units; headers, libraries and CMake files).
#   2. spawnpoint installs with apt on a clean Debian 12 (the local spawnpoint/debian:bookworm image
#      from scripts/make-base-image.sh; apt resolves its Depends from the Debian mirror), and the
#      installed spawnd and spawnctl run: --help, and a clear error for a missing config.
#   3. spawnpoint-dev, unpacked, is found by find_package(spawnpoint) from a small consumer project
#      that links spawn::client, and the program built with it runs. Of its headers only spawnable's
#      params.h includes yaml-cpp (on purpose, see there), and none includes spdlog.
#   4. A small service project links spawn::spawnable from the same package; the service reads a
#      params file and sends itself one message on its slot through the broker on 127.0.0.1:1883.
# Usage: scripts/test-package.sh [BUILD_DIR]   (default: build). Needs the Docker engine and the
# broker (scripts/start-services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
build_dir=$(realpath "${1:-${BUILD_DIR:-build}}")
debian_image=${DEBIAN_TAG:-spawnpoint/debian:bookworm}
work=$(mktemp -d /tmp/spawnpoint-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== cpack -G DEB"
(cd "$build_dir" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
runtime_deb=$(ls "$work"/debs/spawnpoint_*.deb) || fail "no spawnpoint_*.deb made"
dev_deb=$(ls "$work"/debs/spawnpoint-dev_*.deb) || fail "no spawnpoint-dev_*.deb made"

expect_files() {  # expect_files <deb> <path>...
  local deb=$1; shift
  local listing; listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
  for path in "$@"; do
    grep -qx "./$path" <<<"$listing" || fail "$(basename "$deb") lacks /$path"
  done
}
expect_files "$runtime_deb" usr/bin/spawnd usr/bin/spawnctl \
  usr/lib/systemd/system/spawnd.service usr/lib/systemd/system/spawnd-container.service \
  usr/share/doc/spawnpoint/examples/spawnd.yml \
  usr/share/man/man1/spawnctl.1 usr/share/man/man8/spawnd.8 usr/share/man/man5/deploy.yml.5 \
  usr/share/man/man5/spawnd.yml.5 usr/share/bash-completion/completions/spawnctl
expect_files "$dev_deb" usr/include/spawn/client/client.h usr/include/spawn/proto/messages.h \
  usr/lib/libspawn_client.a usr/lib/cmake/spawnpoint/spawnpointConfig.cmake \
  usr/include/spawn/spawnable/params.h usr/include/spawn/spawnable/service.h \
  usr/include/spawn/spawnable/poller.h usr/lib/libspawn_spawnable.a
dpkg-deb -f "$runtime_deb" Depends | grep -q libpaho-mqttpp3 ||
  fail "spawnpoint's Depends lacks the Paho runtime: $(dpkg-deb -f "$runtime_deb" Depends)"
echo "ok: $(basename "$runtime_deb") and $(basename "$dev_deb") hold what they should"

echo "== apt install $(basename "$runtime_deb") on a clean $debian_image"
docker image inspect "$debian_image" >/dev/null 2>&1 ||
  fail "$debian_image is missing: run scripts/make-base-image.sh first"
docker run --rm --network host -v "$work/debs:/debs:ro" "$debian_image" bash -euo pipefail -c '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends /debs/spawnpoint_*.deb >/tmp/apt.log ||
    { cat /tmp/apt.log; exit 1; }
  spawnd --help | grep -q "run"
  spawnctl --help | grep -q "deploy"
  test -f /usr/lib/systemd/system/spawnd.service
  if spawnd run -c /etc/spawnd/missing.yml 2>/tmp/err; then
    echo "spawnd ran without its config"; exit 1
  fi
  grep -q "missing.yml" /tmp/err || { echo "error does not name the file:"; cat /tmp/err; exit 1; }
' || fail "installing or running the package on $debian_image"
echo "ok: installed with apt; spawnd and spawnctl run"

echo "== find_package(spawnpoint) from $(basename "$dev_deb")"
mkdir -p "$work/root" "$work/consumer"
dpkg-deb -x "$dev_deb" "$work/root"
# The installed headers are the API: they bring in no dependency a user does not need.
leaks=$(cd "$work/root/usr/include" &&
  grep -rlE '#include [<"](yaml-cpp|spdlog)/' spawn | grep -vx spawn/spawnable/params.h) &&
  fail "installed headers include yaml-cpp or spdlog: $leaks"
cat >"$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
add_compile_definitions(MSGPACK_NO_BOOST)
find_package(spawnpoint 0.1 REQUIRED)
add_executable(consumer main.cc)
target_link_libraries(consumer PRIVATE spawn::client)
CMAKE
cat >"$work/consumer/main.cc" <<'CPP'
// Uses the installed wire format: a heartbeat survives an encode/decode round trip.
#include <iostream>

#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

int main() {
  spawn::proto::SpawnpointHeartbeat hb;
  hb.alias = "packaged";
  auto back = spawn::proto::DecodeSpawnpointHeartbeat(spawn::proto::Encode(hb));
  if (!back.ok() || back->alias != "packaged") return 1;
  std::cout << spawn::topics::Root("demo/spawnpoint/alpha") << "\n";
  return 0;
}
CPP
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/root/usr" \
  >"$work/consumer.log" 2>&1 && cmake --build "$work/consumer/build" >>"$work/consumer.log" 2>&1 ||
  { cat "$work/consumer.log" >&2; fail "a consumer of spawnpoint-dev does not build"; }
[[ $("$work/consumer/build/consumer") == demo/spawnpoint/alpha/s.spawnpoint ]] ||
  fail "the consumer built against spawnpoint-dev printed the wrong topic"
echo "ok: a consumer project builds with find_package(spawnpoint) and runs"

broker=tcp://127.0.0.1:1883
echo "== a service on spawn::spawnable from $(basename "$dev_deb"), on the broker at $broker"
mkdir -p "$work/service"
cat >"$work/service/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(service LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(spawnpoint 0.1 REQUIRED)
add_executable(service main.cc)
target_link_libraries(service PRIVATE spawn::spawnable)
CMAKE
cat >"$work/service/main.cc" <<'CPP'
// A service on the installed spawnable: reads its params file (argv[1]), connects as spawnd's
// environment says, sends itself `greeting` on its slot i.package/slot/echo through the broker,
// and prints what arrived.
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>

#include "spawn/spawnable/params.h"
#include "spawn/spawnable/service.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const spawn::Params params = spawn::GetParamsFileOrExit(argv[1]);
  const std::string greeting = params.MustString("greeting");
  const auto wait = params.Must<spawn::Duration>("wait");
  auto connected = spawn::Service::ConnectFromEnvironment();
  if (!connected.ok()) {
    std::cerr << "service: " << connected.status().message() << std::endl;
    return 1;
  }
  spawn::Service& service = **connected;

  std::mutex mu;
  std::condition_variable arrived;
  std::string received;
  spawn::Status s = service.SubscribeSlot("package", "echo", [&](const spawn::BusMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    received = m.payload;
    arrived.notify_one();
  });
  if (s.ok()) {
    s = service.bus().Publish(
        {.topic = spawn::SlotTopic(service.environment().service_topic, "package", "echo"),
         .payload = greeting});
  }
  if (!s.ok()) {
    std::cerr << "service: " << s.message() << std::endl;
    return 1;
  }
  std::unique_lock<std::mutex> lock(mu);
  if (!arrived.wait_for(lock, wait, [&] { return !received.empty(); })) {
    std::cerr << "service: nothing arrived on the slot" << std::endl;
    return 1;
  }
  std::cout << "received: " << received << std::endl;
  lock.unlock();
  return service.Close().ok() ? 0 : 1;
}
CPP
cat >"$work/service/params.yml" <<YAML
/* read with spawnable's GetParamsFile */
greeting: hello from the package $$
wait: 20s
YAML
cmake -S "$work/service" -B "$work/service/build" -DCMAKE_PREFIX_PATH="$work/root/usr" \
  >"$work/service.log" 2>&1 && cmake --build "$work/service/build" >>"$work/service.log" 2>&1 ||
  { cat "$work/service.log" >&2; fail "a service on spawn::spawnable does not build"; }
service_topic="spawnpoint-package-test/$$/s.spawnpoint/svc"
out=$(SPAWNPOINT_BROKER=$broker SPAWNPOINT_SERVICE_TOPIC=$service_topic \
  timeout 60 "$work/service/build/service" "$work/service/params.yml") ||
  fail "the service built against spawnpoint-dev failed (is the broker at $broker up?)"
[[ $out == "received: hello from the package $$" ]] ||
  fail "the service built against spawnpoint-dev printed: $out"
echo "ok: a service on spawn::spawnable builds, reads its params and round-trips a message"
echo "PASS: Debian packages"
