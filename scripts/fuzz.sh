#!/usr/bin/env bash
# A bounded libFuzzer run over the message decoders, config parsers and tar reader.
# Usage: scripts/fuzz.sh [seconds]   (default 60; FUZZ_BUILD_DIR overrides build-fuzz).
# Builds only spawn_fuzz_decoders with clang in its own build directory, fuzzes a copy of
# fuzz/corpus/ (the checked-in seeds are never modified), and exits non-zero on any finding; the
# input that caused it is kept under <build dir>/fuzz-findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPAWN_BUILD_FUZZ=ON -DSPAWN_BUILD_TESTS=OFF -DSPAWN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target spawn_fuzz_decoders
findings="$build_dir/fuzz-findings"
mkdir -p "$findings"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp fuzz/corpus/* "$work/corpus/"
status=0
"$build_dir/fuzz/spawn_fuzz_decoders" "$work/corpus" -max_total_time="$seconds" -max_len=65536 \
  -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 \
  2>"$work/log" || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -60 "$work/log" >&2
  echo "fuzz: FAILED after ${runs:-?} runs (exit $status); the input is in $findings/" >&2
  exit 1
fi
echo "fuzz: passed, ${runs:-?} runs in ${seconds}s without a finding ($(ls "$work/corpus" | wc -l) corpus entries)"
