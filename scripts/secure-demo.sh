#!/usr/bin/env bash
# The demo of scripts/demo.sh on a secured broker (README, "Securing a fleet"): a Mosquitto of its
# own with TLS on 127.0.0.1:${SECURE_PORT:-8883}, no anonymous access and the dynamic security
# plugin (examples/secure/mosquitto.conf), a certificate authority and server certificate made with
# openssl, a host, an operator and a viewer provisioned with `spawnctl access`, spawnd running with
# the host's identity, the demo deployed by the operator and scanned by the viewer, and the viewer's
# own deploy refused by the broker (exit 77).
# State, keys and logs go to ${SPAWN_SECURE_DIR:-/tmp/spawnpoint-secure}; run it again to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
dir=${SPAWN_SECURE_DIR:-/tmp/spawnpoint-secure}
port=${SECURE_PORT:-8883}
base=secure-demo
path=$base/alpha
broker=ssl://127.0.0.1:$port

bash scripts/install-deps.sh
bash scripts/start-services.sh  # the Docker engine (and the open demo broker, left alone)
bash scripts/build-test-image.sh
bash scripts/make-base-image.sh
bash scripts/build.sh
spawnctl=build/spawnctl/spawnctl
spawnd=build/spawnd/daemon/spawnd

# Start over: a previous run's broker and spawnd, its identities and its state.
pkill -f "spawnd run -c $dir/spawnd.yml" 2>/dev/null || true
if [[ -f $dir/mosquitto.pid ]]; then kill "$(cat "$dir/mosquitto.pid")" 2>/dev/null || true; fi
sleep 0.5
rm -rf "$dir"
mkdir -p "$dir/state" "$dir/broker-state"
chmod 0700 "$dir"

bash scripts/make-certs.sh "$dir/certs"
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/admin.password"
chmod 0600 "$dir/admin.password"
mosquitto_ctrl dynsec init "$dir/dynamic-security.json" admin "$(cat "$dir/admin.password")" \
  >/dev/null
# examples/secure/mosquitto.conf with this run's port and absolute paths.
sed -e "s|^listener 8883 |listener $port |" \
  -e "s|certs/|$dir/certs/|" \
  -e "s|^plugin_opt_config_file .*|plugin_opt_config_file $dir/dynamic-security.json|" \
  -e "s|^persistence_location .*|persistence_location $dir/broker-state/|" \
  examples/secure/mosquitto.conf >"$dir/mosquitto.conf"
cat >>"$dir/mosquitto.conf" <<CONF
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
# Started as root, Mosquitto would drop to its own user, which cannot read this directory.
user $(id -un)
CONF
mosquitto -c "$dir/mosquitto.conf" -d
for _ in $(seq 50); do
  mosquitto_pub -h 127.0.0.1 -p "$port" --cafile "$dir/certs/ca.pem" -u admin \
    -P "$(cat "$dir/admin.password")" -t secure-demo/ping -m ping -q 1 2>/dev/null && break
  sleep 0.2
done
echo "mosquitto: TLS on $broker, dynamic security (log: $dir/mosquitto.log)"

admin=("$spawnctl" -b "$broker" --ca-file "$dir/certs/ca.pem" --username admin
  --password-file "$dir/admin.password")
echo "--- spawnctl access host $path --out $dir/alpha"
"${admin[@]}" access host "$path" --out "$dir/alpha" | tee "$dir/host-lines.yml"
echo "--- spawnctl access operator ops --base $base"
"${admin[@]}" access operator ops --base "$base" --out "$dir/ops.password"
echo "--- spawnctl access viewer watcher --base $base"
"${admin[@]}" access viewer watcher --base "$base" --out "$dir/watcher.password"
"${admin[@]}" access list

{
  cat "$dir/host-lines.yml"
  cat <<YML
alias: alpha
broker: $broker
caFile: $dir/certs/ca.pem
memAlloc: 2G
cpuShares: 2048
heartbeatInterval: 2s
allowHostNet: true
stateDir: $dir/state
defaultImage: spawnpoint/busybox:latest
YML
} >"$dir/spawnd.yml"
nohup "$spawnd" run -c "$dir/spawnd.yml" -m examples/metadata.yml >"$dir/spawnd.log" 2>&1 &
echo "spawnd: started as sp:$path (log: $dir/spawnd.log)"

as_user() {  # as_user <name> <spawnctl args...>
  local user=$1
  shift
  "$spawnctl" -b "$broker" --ca-file "$dir/certs/ca.pem" --username "$user" \
    --password-file "$dir/$user.password" "$@"
}
for _ in $(seq 100); do
  as_user watcher scan "$path" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "--- the operator deploys the demo"
as_user ops deploy -u "$path" -c build/examples/demo/deploy.yml --replace --no-follow
sleep 4
echo "--- the viewer scans"
as_user watcher scan "$path"
as_user watcher logs -u "$path" -n demo
echo "--- the viewer tries to deploy: the broker refuses it"
set +e
as_user watcher deploy -u "$path" -c build/examples/demo/deploy.yml -n intruder --no-follow
code=$?
set -e
echo "(exit $code)"
[[ $code == 77 ]] || { echo "error: the viewer's deploy was not refused" >&2; exit 1; }
echo
echo "As the operator: $spawnctl -b $broker --ca-file $dir/certs/ca.pem --username ops --password-file $dir/ops.password tail -u $path -n demo"
echo "Stop it: pkill -f 'spawnd run -c $dir/spawnd.yml'; kill \$(cat $dir/mosquitto.pid)"
