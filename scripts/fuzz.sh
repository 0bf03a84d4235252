#!/usr/bin/env bash
# A bounded libFuzzer run over the message decoders, config parsers and tar reader.
# Usage: scripts/fuzz.sh [seconds]   (default 60). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPAWN_BUILD_FUZZ=ON -DSPAWN_BUILD_TESTS=OFF -DSPAWN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target spawn_fuzz_decoders
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp fuzz/corpus/* "$work/"
"$build_dir/fuzz/spawn_fuzz_decoders" "$work" -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 2>"$work/log" || {
  tail -50 "$work/log" >&2
  echo "fuzz: FAILED (a crash input is above)" >&2
  exit 1
}
grep -E "stat::number_of_executed_runs" "$work/log" || true
echo "fuzz: 1 passed, 0 failed (${seconds}s without a finding)"
