#!/bin/sh
# portcullis-healthcheck [PATH]: probe this container's own service, for
# container engines that run a command as the healthcheck (docker compose).
# Kubernetes uses httpGet probes instead and does not need this.
#
#   portcullis-healthcheck            # GET /healthz (liveness)
#   portcullis-healthcheck /readyz    # GET /readyz  (readiness: 503 = not ready)
#
# The port comes from PORTCULLIS_HTTP_LISTEN, the scheme from
# PORTCULLIS_TLS_DISABLE (https unless it is "true"). The server certificate is
# verified against PORTCULLIS_HEALTHCHECK_CA (default /etc/portcullis/tls/ca.crt)
# when that file is readable; without it the check still uses TLS but cannot
# verify the certificate of the service it is running beside.
set -eu

path=${1:-/healthz}
case $path in
  /healthz | /readyz) ;;
  *)
    echo "portcullis-healthcheck: path must be /healthz or /readyz, got '$path'" >&2
    exit 2
    ;;
esac

listen=${PORTCULLIS_HTTP_LISTEN:-0.0.0.0:8443}
port=${listen##*:}
host=${listen%:*}
case $port in
  '' | *[!0-9]*)
    echo "portcullis-healthcheck: cannot read a port from PORTCULLIS_HTTP_LISTEN='$listen'" >&2
    exit 2
    ;;
esac
# A wildcard listener is reached on loopback; a specific address as given.
case $host in
  '' | 0.0.0.0 | '[::]' | '*') host=localhost ;;
esac

if [ "${PORTCULLIS_TLS_DISABLE:-false}" = "true" ]; then
  exec curl --fail --silent --show-error --max-time 4 --proto =http \
    --output /dev/null "http://${host}:${port}${path}"
fi

ca=${PORTCULLIS_HEALTHCHECK_CA:-/etc/portcullis/tls/ca.crt}
if [ -r "$ca" ]; then
  exec curl --fail --silent --show-error --max-time 4 --proto =https --cacert "$ca" \
    --output /dev/null "https://${host}:${port}${path}"
fi
exec curl --fail --silent --show-error --max-time 4 --proto =https --insecure \
  --output /dev/null "https://${host}:${port}${path}"
