#!/usr/bin/env bash
# Builds spawnpoint/busybox:latest FROM scratch with busybox-static's binary: the image the tests run,
# made locally because no registry can be reached.
set -euo pipefail
tag=${1:-spawnpoint/busybox:latest}
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag: present"; exit 0; fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/srv/spawnpoint"
cp /bin/busybox "$ctx/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$applet"
done
chmod 1777 "$ctx/rootfs/tmp"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
WORKDIR /srv/spawnpoint
CMD ["sh"]
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag: built"
