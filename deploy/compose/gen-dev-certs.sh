#!/usr/bin/env bash
# Generate a development CA and one server certificate for the compose stack.
#
#   deploy/compose/gen-dev-certs.sh [DIR]     # default: deploy/compose/certs
#
# Writes DIR/ca.crt, DIR/tls.crt and DIR/tls.key (the paths the compose file
# mounts at /etc/portcullis/tls). The certificate names every compose service
# plus localhost and 127.0.0.1, so clients on the host can verify it with
#   curl --cacert deploy/compose/certs/ca.crt https://localhost:8443/healthz
# The CA key is deleted after signing: to issue more, run the script again
# (with --force to replace an existing set).
#
# Development only. The services run as uid 10001 in the container and must be
# able to read tls.key: run as root and the key is chowned to 10001 with mode
# 0400; otherwise it is left world-readable (0644) and a warning is printed.
# Production certificates come from your PKI (see helm/README.md).
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

force=0
dir=""
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "gen-dev-certs: unknown option $arg" >&2; exit 2 ;;
    *) dir=$arg ;;
  esac
done
dir=${dir:-"$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/certs"}

command -v openssl >/dev/null || { echo "gen-dev-certs: openssl not found" >&2; exit 1; }

if [[ -e $dir/tls.key && $force -ne 1 ]]; then
  echo "gen-dev-certs: $dir/tls.key exists; pass --force to replace it" >&2
  exit 1
fi

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for svc in registry policy ingest query indexer instrumenter; do
  sans+=",DNS:${svc}"
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
  -subj "/CN=Portcullis development CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -subj "/CN=portcullis" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null

cat >"$work/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${sans}
EOF
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 30 -sha256 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

install -m 0644 "$work/ca.crt" "$dir/ca.crt"
install -m 0644 "$work/tls.crt" "$dir/tls.crt"
if [[ $EUID -eq 0 ]]; then
  install -m 0400 -o 10001 -g 10001 "$work/tls.key" "$dir/tls.key"
else
  install -m 0644 "$work/tls.key" "$dir/tls.key"
  echo "gen-dev-certs: warning: $dir/tls.key is world-readable so the container user" \
    "(uid 10001) can read it; acceptable for development only" >&2
fi
chmod 0755 "$dir"

echo "gen-dev-certs: wrote $dir/{ca.crt,tls.crt,tls.key} (valid 30 days; SANs: ${sans})"
