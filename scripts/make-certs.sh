#!/usr/bin/env bash
# Makes a private certificate authority and a server certificate for a broker on this machine
# (names localhost and 127.0.0.1), for the TLS examples and tests:
#   DIR/ca.pem, DIR/ca.key          the authority (clients trust ca.pem)
#   DIR/server.pem, DIR/server.key  the broker's key pair, signed by the authority
# Usage: make-certs.sh DIR [DAYS]   (DIR is made if missing; existing files are replaced)
set -euo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 ]] && exit 0 || exit 2
fi
dir=$1 days=${2:-825}
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/CN=spawnpoint test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$dir/server.key" -out "$dir/server.csr" \
  -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days "$days" -sha256 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
chmod 0644 "$dir/ca.pem" "$dir/server.pem"
echo "made $dir/ca.pem and $dir/server.pem (localhost, 127.0.0.1)"
