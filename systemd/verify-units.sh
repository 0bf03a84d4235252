#!/usr/bin/env bash
# Checks spawnpoint's systemd units: verify-units.sh <unit>...
#  1. Always: each file parses as a unit file (section headers, Key=Value lines, backslash
#     continuations) and has the keys spawnpoint relies on (per unit, below).
#  2. When systemd-analyze is installed: `systemd-analyze verify` in a scratch root holding this
#     machine's system units, the units under test, and stand-ins for the executables they name
#     (verify checks that ExecStart binaries exist; spawnd need not be installed to check its unit).
#     Any diagnostic (unknown key, bad value) fails the check, not only a non-zero status.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 <unit>..." >&2; exit 2; }
fail=0
err() { echo "$1: $2" >&2; fail=1; }

# Values of Key in [Section] of a unit, continuation lines joined.
values() {  # values <file> <section> <key>
  awk -v want_section="[$2]" -v key="$3" '
    { line = $0 }
    cont { buf = buf " " line; if (line ~ /\\$/) { sub(/\\$/, "", buf); next } cont = 0; print buf; next }
    /^[[:space:]]*([#;].*)?$/ { next }
    /^\[.*\]$/ { section = $0; next }
    section == want_section && index(line, key "=") == 1 {
      buf = substr(line, length(key) + 2)
      if (buf ~ /\\$/) { sub(/\\$/, "", buf); cont = 1; next }
      print buf
    }' "$1"
}

require() {  # require <file> <section> <key> <pattern (grep -E)>
  local v
  v=$(values "$1" "$2" "$3")
  [ -n "$v" ] || { err "$1" "missing $3= in [$2]"; return; }
  echo "$v" | grep -qE -- "$4" || err "$1" "[$2] $3=$v does not match /$4/"
}

for unit in "$@"; do
  [ -f "$unit" ] || { err "$unit" "no such file"; continue; }
  # Structure: every line is blank, a comment, a [Section], Key=Value, or continues the previous.
  awk '
    cont { cont = ($0 ~ /\\$/); next }
    /^[[:space:]]*([#;].*)?$/ { next }
    /^\[[A-Za-z]+\]$/ { next }
    /^[A-Za-z][A-Za-z0-9]*=/ { cont = ($0 ~ /\\$/); next }
    { printf "line %d: not a section, key=value or comment: %s\n", NR, $0; bad = 1 }
    END { exit bad }' "$unit" >&2 || err "$unit" "does not parse as a unit file"
  for section in Unit Service Install; do
    grep -qx "\[$section\]" "$unit" || err "$unit" "missing [$section]"
  done
  require "$unit" Unit Description .
  require "$unit" Unit After 'docker\.service'
  require "$unit" Unit After 'network-online\.target'
  require "$unit" Unit Wants 'network-online\.target'
  require "$unit" Service Restart '^on-failure$'
  require "$unit" Service StateDirectory '^spawnd$'
  require "$unit" Install WantedBy 'multi-user\.target'
  case "$(basename "$unit")" in
    spawnd.service)
      require "$unit" Service ExecStart '^/usr/bin/spawnd run -c /etc/spawnd/spawnd\.yml$'
      require "$unit" Service KillMode '^process$'
      ;;
    spawnd-container.service)
      exec_start=$(values "$unit" Service ExecStart)
      for part in '^/usr/bin/docker run ' '--rm' '--name spawnd' '--network host' \
          '-v /var/run/docker.sock:/var/run/docker.sock' '-v /etc/spawnd:/etc/spawnd:ro' \
          '-v /var/lib/spawnd:/var/lib/spawnd' 'spawnpoint/spawnd:latest run -c /etc/spawnd/spawnd.yml'; do
        echo "$exec_start" | grep -qE -- "$part" || err "$unit" "ExecStart lacks \"$part\""
      done
      ;;
  esac
done

if command -v systemd-analyze >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/bin"
  [ -d /lib/systemd/system ] && cp -a /lib/systemd/system "$root/usr/lib/systemd/"
  for unit in "$@"; do
    cp "$unit" "$root/etc/systemd/system/"
    # Stand-ins for the absolute executables the unit runs (the first word of each Exec line).
    grep -hoE '^Exec[A-Za-z]*=[-@:+!]*/[^ ]+' "$unit" | sed -E 's/^[^=]*=[-@:+!]*//' |
      while read -r exe; do
        mkdir -p "$root$(dirname "$exe")"
        printf '#!/bin/sh\n' >"$root$exe"
        chmod +x "$root$exe"
      done
  done
  names=()
  for unit in "$@"; do names+=("$(basename "$unit")"); done
  if ! out=$(cd "$root/etc/systemd/system" &&
             systemd-analyze verify --root="$root" --man=no "${names[@]}" 2>&1) || [ -n "$out" ]; then
    echo "systemd-analyze verify:" >&2
    echo "$out" >&2
    fail=1
  else
    echo "systemd-analyze verify: ${names[*]} ok"
  fi
else
  echo "systemd-analyze not installed: checked structure and required keys only"
fi
[ "$fail" = 0 ] && echo "units ok: $*"
exit "$fail"
