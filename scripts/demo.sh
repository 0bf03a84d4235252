#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is needed, starts Mosquitto and a Docker
# engine, builds spawnpoint and the local images, starts spawnd (examples/spawnd.yml), deploys the demo
# service with spawnctl, and shows it in a scan and in its log.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${SPAWN_RUN_DIR:-/tmp/spawnpoint-run}
bash scripts/install-deps.sh
bash scripts/start-services.sh
bash scripts/build-test-image.sh
bash scripts/make-base-image.sh
bash scripts/build.sh
uri=demo/spawnpoint/alpha
if ! pgrep -f "spawnd run -c examples/spawnd.yml" >/dev/null; then
  nohup build/spawnd/daemon/spawnd run -c examples/spawnd.yml -m examples/metadata.yml \
    >"$run_dir/spawnd.log" 2>&1 &
  echo "spawnd: started (log: $run_dir/spawnd.log)"
fi
for _ in $(seq 100); do
  [ "$(mosquitto_sub -h 127.0.0.1 -C 1 -W 1 -t "$uri/s.spawnpoint/server/i.spawnpoint/signal/presence" 2>/dev/null)" = online ] && break
  sleep 0.2
done
build/spawnctl/spawnctl deploy -u "$uri" -c build/examples/demo/deploy.yml --replace --no-follow
sleep 4
build/spawnctl/spawnctl scan "$uri"
build/spawnctl/spawnctl logs -u "$uri" -n demo
echo
echo "Follow it:  build/spawnctl/spawnctl tail -u $uri -n demo"
echo "Stop spawnd: pkill -f 'spawnd run' (services keep running; a new spawnd adopts them)"
