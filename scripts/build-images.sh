#!/usr/bin/env bash
# Builds the spawnpoint images locally (no registry is reached):
#   spawnpoint/debian:bookworm, spawnpoint/base:latest   scripts/make-base-image.sh (kept if present)
#   spawnpoint/spawnd:latest                             images/spawnd/Dockerfile (always rebuilt;
#                                                        unchanged layers come from the cache)
# The spawnd image's context is the repository's files (tracked, or new and not ignored), so local
# build directories stay out of it.
# With --test, also checks the result: `spawnd --help` runs in the image.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${SPAWND_TAG:-spawnpoint/spawnd:latest}
bash scripts/make-base-image.sh

echo "$tag: building (compiles spawnd and spawnctl; a few minutes)"
log=$(mktemp /tmp/spawnd-image-build.XXXXXX.log)
if ! git ls-files -z -co --exclude-standard | xargs -0 ls -d 2>/dev/null | tar -c -T - |
     docker build --network host -f images/spawnd/Dockerfile -t "$tag" - >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "$tag: build failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
echo "$tag: built"

if [ "${1:-}" = --test ]; then
  out=$(docker run --rm --network none "$tag" --help 2>&1) || {
    echo "$out" >&2
    echo "$tag: spawnd --help failed" >&2
    exit 1
  }
  echo "$out" | grep -q "run" || { echo "$out" >&2; echo "$tag: unexpected --help output" >&2; exit 1; }
  echo "$tag: spawnd --help ok"
fi
