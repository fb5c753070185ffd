# shellcheck shell=bash
# Shared helpers for Portcullis scripts. Source it; do not execute it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything here is side-effect free on load (no `set` changes, no output).

# Name used as the prefix of every message.
PORTCULLIS_LOG_NAME=${PORTCULLIS_LOG_NAME:-$(basename "${0:-portcullis}")}

# Absolute path of the repository (the parent of scripts/).
# shellcheck disable=SC2034 # used by the scripts that source this file
PORTCULLIS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# --- messages ---------------------------------------------------------------
# All diagnostics go to stderr so stdout stays machine-readable.

log() { printf '%s: %s\n' "$PORTCULLIS_LOG_NAME" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PORTCULLIS_LOG_NAME" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PORTCULLIS_LOG_NAME" "$*" >&2
  exit 1
}

# tail_log FILE [LINES]: print the end of a log file to stderr (for failures).
tail_log() {
  local file=$1 lines=${2:-40}
  if [[ -r $file ]]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" >&2 || true
    printf -- '----- end of %s -----\n' "$file" >&2
  else
    printf '(no log at %s)\n' "$file" >&2
  fi
}

# --- privileges -------------------------------------------------------------

# as_root CMD...: run CMD as root, through sudo when we are not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -- "$@"
  else
    die "need root for: $* (not root, and sudo is not installed)"
  fi
}

# --- env files ----------------------------------------------------------------
# Format: one KEY=value per line, no quotes, no `export`. The value is
# everything after the first '=' (it may contain spaces and '='). Empty lines
# and lines starting with '#' are ignored. The C++ services parse the same way.

# load_env FILE: export every KEY=value of FILE into the current shell.
# Values are taken literally (never eval'ed).
load_env() {
  local file=$1 line key value n=0
  [[ -r $file ]] || die "env file not readable: $file"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%$'\r'}
    [[ -z $line || $line == \#* ]] && continue
    if [[ $line != *=* ]]; then
      die "$file:$n: not a KEY=value line"
    fi
    key=${line%%=*}
    value=${line#*=}
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$file:$n: bad key '$key'"
    export "$key=$value"
  done <"$file"
}

# env_get FILE KEY: print the value of KEY in FILE (empty, status 1 if absent).
env_get() {
  local file=$1 want=$2 line
  [[ -r $file ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    if [[ ${line%%=*} == "$want" && $line == *=* ]]; then
      printf '%s\n' "${line#*=}"
      return 0
    fi
  done <"$file"
  return 1
}

# write_file_atomic FILE MODE: write stdin to FILE (via a temp file + rename)
# with permission MODE, so readers never see a half-written file.
write_file_atomic() {
  local file=$1 mode=$2 tmp
  tmp=$(mktemp "${file}.XXXXXX")
  chmod "$mode" "$tmp"
  if ! cat >"$tmp"; then
    rm -f -- "$tmp"
    die "could not write $file"
  fi
  mv -f -- "$tmp" "$file"
}

# --- tools --------------------------------------------------------------------

# require_tool CMD PACKAGE: fail unless CMD (a name on PATH or an absolute
# path) is available; names the Debian package to install otherwise.
require_tool() {
  local cmd=$1 pkg=$2
  if [[ $cmd == /* ]]; then
    [[ -x $cmd ]] && return 0
  else
    command -v "$cmd" >/dev/null 2>&1 && return 0
  fi
  die "missing '$cmd' (Debian package: $pkg); run scripts/deps.sh"
}

# --- processes and ports --------------------------------------------------------

# pid_alive PID: true when PID is a live (non-zombie) process.
pid_alive() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# pid_cmdline_has PID STRING: true when the command line of PID contains STRING
# (guards against a recycled PID belonging to another program).
pid_cmdline_has() {
  local pid=$1 needle=$2 cmdline
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$needle"* ]]
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  local host=$1 port=$2
  # shellcheck disable=SC2016 # $0/$1 belong to the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# free_ports N: print N distinct free TCP ports on 127.0.0.1, space separated.
# All N sockets are bound at the same time, so the ports are distinct.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# --- development TLS ---------------------------------------------------------
# A throwaway CA and certificates signed by it, for local development and
# tests only. Keys are EC P-256, written with mode 600.

# tls_ensure_ca DIR: create DIR/ca.crt and DIR/ca.key (10 years) unless both
# exist already.
tls_ensure_ca() {
  local dir=$1
  if [[ -s $dir/ca.crt && -s $dir/ca.key ]]; then
    return 0
  fi
  mkdir -p -- "$dir"
  chmod 700 -- "$dir"
  rm -f -- "$dir/ca.crt" "$dir/ca.key"
  (
    umask 077
    openssl req -x509 -new -nodes \
      -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" \
      -days 3650 -sha256 \
      -subj "/O=Portcullis/CN=Portcullis Development CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" 2>/dev/null
  ) || die "openssl could not create the development CA in $dir"
  chmod 600 -- "$dir/ca.key"
  chmod 644 -- "$dir/ca.crt"
}

# tls_issue_cert DIR NAME CN SAN [EKU] [DAYS]: create DIR/NAME.crt and
# DIR/NAME.key signed by the CA in DIR (see tls_ensure_ca).
#   SAN: e.g. "DNS:localhost,IP:127.0.0.1,IP:::1"
#   EKU: extendedKeyUsage, default "serverAuth"; use "clientAuth" for clients.
# Keeps an existing certificate that the CA verifies and that is valid for at
# least one more day.
tls_issue_cert() {
  local dir=$1 name=$2 cn=$3 san=$4 eku=${5:-serverAuth} days=${6:-825}
  local crt=$dir/$name.crt key=$dir/$name.key ext
  [[ -s $dir/ca.crt && -s $dir/ca.key ]] || die "no CA in $dir (call tls_ensure_ca first)"
  if [[ -s $crt && -s $key ]] &&
    openssl verify -CAfile "$dir/ca.crt" "$crt" >/dev/null 2>&1 &&
    openssl x509 -in "$crt" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  ext=$(mktemp "$dir/$name.ext.XXXXXX")
  cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku
subjectAltName=$san
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
  if ! (
    umask 077
    openssl req -new -nodes \
      -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$key" -out "$dir/$name.csr" \
      -subj "/O=Portcullis/CN=$cn" 2>/dev/null &&
      openssl x509 -req -in "$dir/$name.csr" \
        -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" \
        -days "$days" -sha256 -extfile "$ext" -out "$crt" 2>/dev/null
  ); then
    rm -f -- "$ext" "$dir/$name.csr"
    die "openssl could not issue $name certificate in $dir"
  fi
  rm -f -- "$ext" "$dir/$name.csr"
  chmod 600 -- "$key"
  chmod 644 -- "$crt"
}

# gen_dev_tls DIR: the development CA plus a server certificate for localhost
# (DIR/ca.{crt,key}, DIR/server.{crt,key}). Idempotent.
gen_dev_tls() {
  local dir=$1
  tls_ensure_ca "$dir"
  tls_issue_cert "$dir" server localhost "DNS:localhost,IP:127.0.0.1,IP:::1" "serverAuth"
}

# --- Python tools ---------------------------------------------------------------

# ensure_venv VENV REQUIREMENTS BIN: a venv at VENV with the pinned
# REQUIREMENTS installed, created once and refreshed when the pins change;
# BIN (relative to VENV) must exist for the venv to count as ready. Serialised
# with a lock next to the venv, so concurrent runs share one.
ensure_venv() {
  local venv=$1 req=$2 bin=$3 want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  mkdir -p "$(dirname "$venv")"
  (
    flock 9 || exit 1
    if [[ -x $venv/$bin && $(cat "$venv/.portcullis-requirements" 2>/dev/null) == "$want" ]]; then
      exit 0
    fi
    log "creating Python venv in $venv"
    python3 -m venv --clear "$venv" || exit 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" || exit 1
    echo "$want" >"$venv/.portcullis-requirements"
  ) 9>"$venv.lock"
}

# run_child CMD...: runs CMD in the background and waits for it (its pid in
# CHILD_PID meanwhile), so that a SIGTERM/SIGINT to the script is handled at
# once (bash runs traps only between foreground commands) and cleanup can
# stop CMD.
run_child() {
  local rc=0
  "$@" &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return "$rc"
}

# stop_process NAME PID: SIGTERM, up to 15 s for its drain, then SIGKILL.
stop_process() {
  local name=$1 pid=$2 i
  [[ -n $pid ]] && pid_alive "$pid" || return 0
  log "stopping the $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    warn "$name (pid $pid) ignored SIGTERM: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
