#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs dependencies, starts Mosquitto and a
# Docker engine when none runs, builds the local images, builds with warnings as errors, runs every
# ctest test (unit and integration, nothing skipped) and a bounded fuzz run. Then builds, without
# testing again, the two configurations whose breakage a test run would not show: Release with
# default options, as a user builds it (build-release), and clang with warnings as errors
# (build-clang; clang's -Wthread-safety checks the lock annotations).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/start-services.sh
bash scripts/build-test-image.sh
bash scripts/make-base-image.sh
bash scripts/build.sh -DSPAWN_WERROR=ON
echo "== ctest (unit and integration)"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900)
echo "== fuzz (bounded run)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
echo "== build: Release, default options"
BUILD_DIR=build-release bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release
echo "== build: clang, warnings as errors (lock annotations)"
CC=clang CXX=clang++ BUILD_DIR=build-clang bash scripts/build.sh -DSPAWN_WERROR=ON
echo "PASS: tests, fuzz, Release and clang builds"
