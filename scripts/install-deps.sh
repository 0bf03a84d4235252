#!/usr/bin/env bash
# Installs everything spawnpoint needs to build, test and run, from Debian 12's packages.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
packages=(
  cmake g++ ninja-build pkg-config git ccache
  libpaho-mqttpp-dev libpaho-mqtt-dev libmsgpack-cxx-dev libyaml-cpp-dev libcurl4-openssl-dev
  libspdlog-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  clang libclang-rt-14-dev clang-format libssl-dev
  mosquitto mosquitto-clients docker.io busybox-static debootstrap tar procps iproute2
  openssl  # certificates for the TLS broker of the tests and of scripts/secure-demo.sh
  help2man man-db groff-base bash-completion zsh  # man pages, completions and their tests
  libcpp-httplib-dev nodejs  # spawnctl serve: its HTTP server; the dashboard's build (npm, below)
  prometheus chromium  # the gateway's tests: promtool check metrics; the dashboard in a browser
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm (its own package); NodeSource's bundles it, and conflicts with it.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
