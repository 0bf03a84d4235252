#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs dependencies, starts Mosquitto and a
# Docker engine when none runs, builds the local images, builds, runs every ctest test (unit and
# integration, nothing skipped) and a bounded fuzz run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/start-services.sh
bash scripts/build-test-image.sh
bash scripts/make-base-image.sh
bash scripts/build.sh
echo "== ctest (unit and integration)"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900)
echo "== fuzz (bounded run)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
