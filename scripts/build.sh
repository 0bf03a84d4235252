#!/usr/bin/env bash
# Configures and builds spawnpoint into ${BUILD_DIR:-build} (Release with debug info, Ninja,
# warnings not errors, even in a directory configured otherwise before), with ccache when installed.
# Extra arguments go to the configure step and win over these, e.g.
#   bash scripts/build.sh -DSPAWN_WERROR=ON                            # warnings are errors (CI)
#   BUILD_DIR=build-release bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release
#   CC=clang CXX=clang++ BUILD_DIR=build-clang bash scripts/build.sh   # a new build directory
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPAWN_WERROR=OFF \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
