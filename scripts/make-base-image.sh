#!/usr/bin/env bash
# Makes the images every deployed service starts from, locally (no registry can be reached):
#   spawnpoint/debian:bookworm  a minimal Debian 12 rootfs made with debootstrap from this machine's
#                               Debian mirror, with this machine's apt sources copied in;
#   spawnpoint/base:latest      images/base/Dockerfile on top of it (spawnd's default image).
# Idempotent: an image that exists is kept (FORCE=1 rebuilds both). Needs root (debootstrap),
# debootstrap and a running Docker engine; apt inside builds runs with host networking.
set -euo pipefail
cd "$(dirname "$0")/.."
debian_tag=${DEBIAN_TAG:-spawnpoint/debian:bookworm}
base_tag=${BASE_TAG:-spawnpoint/base:latest}
force=${FORCE:-0}

have_image() { [ "$force" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The first Debian mirror of this machine's apt sources (deb822 .sources or one-line .list files).
host_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    case "$uri" in */debian) echo "$uri"; return 0 ;; esac
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 ~ /\/debian$/ {print $2; exit}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  echo "http://deb.debian.org/debian"
}

if have_image "$debian_tag"; then
  echo "$debian_tag: present"
else
  mirror=${MIRROR:-$(host_mirror)}
  rootfs=$(mktemp -d /tmp/spawnpoint-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "$debian_tag: debootstrap bookworm from $mirror (about 30 s)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -30 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  # The host's Debian sources (the same mirror, plus updates and security) and its apt settings
  # (snapshot mirrors need Check-Valid-Until off), so apt-get inside builds reaches what the host does.
  # Third-party sources of the host are left out.
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -q -E 'debian(-security)?([[:space:]]|$)' "$f" || continue
    if [ "$f" = /etc/apt/sources.list ]; then cp "$f" "$rootfs/etc/apt/sources.list"
    else rm -f "$rootfs/etc/apt/sources.list"; cp "$f" "$rootfs/etc/apt/sources.list.d/"; fi
  done
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\n' \
    >"$rootfs/etc/apt/apt.conf.d/99spawnpoint"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$debian_tag" >/dev/null
  echo "$debian_tag: imported"
fi

if have_image "$base_tag"; then
  echo "$base_tag: present"
else
  docker build --network host -q -t "$base_tag" images/base >/dev/null
  echo "$base_tag: built"
fi
