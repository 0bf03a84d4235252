#!/usr/bin/env bash
# Starts, when none is running, a Mosquitto broker on 127.0.0.1:1883 (persistence on) and a Docker
# engine without a bridge (containers use host networking). No systemd needed.
# Logs and state go to ${SPAWN_RUN_DIR:-/tmp/spawnpoint-run}.
set -euo pipefail
run_dir=${SPAWN_RUN_DIR:-/tmp/spawnpoint-run}
mkdir -p "$run_dir/mosquitto"

wait_for() {  # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "error: $what did not come up within ${secs}s" >&2
  return 1
}

broker_up() { mosquitto_pub -h 127.0.0.1 -p 1883 -t spawnpoint/ping -m ping -q 1; }
if broker_up 2>/dev/null; then
  echo "mosquitto: already running on 127.0.0.1:1883"
else
  cat > "$run_dir/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
allow_anonymous true
persistence true
persistence_location $run_dir/mosquitto/
autosave_interval 1
max_queued_messages 100000
# Without it, a small packet written after another (a PUBACK, then a PUBLISH) waits for the
# client's delayed ACK, about 40 ms on Linux, on every such exchange. spawnd and spawnctl set the
# same option on their side.
set_tcp_nodelay true
# Started as root, Mosquitto drops to its own user, which cannot write the state directory: it
# would then lose its sessions and retained messages on every restart. Stay who we are.
user $(id -un)
CONF
  mosquitto -c "$run_dir/mosquitto.conf" -d
  wait_for mosquitto 10 broker_up
  echo "mosquitto: started on 127.0.0.1:1883"
fi

if docker version >/dev/null 2>&1; then
  echo "dockerd: already running"
else
  nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$run_dir/dockerd.log" 2>&1 &
  wait_for dockerd 60 docker version || { tail -20 "$run_dir/dockerd.log" >&2; exit 1; }
  echo "dockerd: started (log: $run_dir/dockerd.log)"
fi
