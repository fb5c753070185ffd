#!/usr/bin/env bash
# Local infrastructure for Portcullis development and tests: a throwaway
# PostgreSQL 15 cluster and a single-node Kafka broker (KRaft), both on
# 127.0.0.1 with free ports, plus development TLS material.
#
# Usage: scripts/infra.sh COMMAND
#   up                  start everything (reusing what already runs), apply
#                       migrations, write the env file; prints its path
#   down                stop everything and delete the state dir
#   status              show each server; exit 0 if both run, 3 otherwise
#   env                 print the path of the env file
#   stop pg|kafka [--kill]
#                       stop one server, keeping its data and port
#                       (--kill: SIGKILL the broker / immediate-stop PostgreSQL)
#   start pg|kafka      start one stopped server again (after an `up`)
#
# Environment:
#   PORTCULLIS_INFRA_DIR        state dir (default /tmp/portcullis-infra)
#   PORTCULLIS_CACHE_DIR        Kafka jar cache (see kafka-fetch.sh)
#   PORTCULLIS_MIGRATE_BIN      migration runner (default build/bin/portcullis-migrate)
#   PORTCULLIS_SKIP_MIGRATIONS  1 = do not run migrations
#   PORTCULLIS_INFRA_TIMEOUT    readiness timeout in seconds (default 60)
set -euo pipefail

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
source "$SCRIPTS_DIR/lib.sh"

# --- configuration --------------------------------------------------------

HOST=127.0.0.1
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATABASE=portcullis
PG_OWNER_ROLE=portcullis_owner
PG_APP_ROLE=portcullis_app
PG_INDEXER_ROLE=portcullis_indexer
KAFKA_NODE_ID=1
KAFKA_JVM_OPTS=(-Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:-UsePerfData -Djava.awt.headless=true)
# Short-lived JVM tools (StorageTool): start fast.
KAFKA_TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -XX:-UsePerfData -Djava.awt.headless=true)
TIMEOUT=${PORTCULLIS_INFRA_TIMEOUT:-60}
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PORTCULLIS_INFRA_TIMEOUT must be a positive integer"
MIGRATE_BIN=${PORTCULLIS_MIGRATE_BIN:-$PORTCULLIS_REPO/build/bin/portcullis-migrate}
MIGRATIONS_DIR=$PORTCULLIS_REPO/schema/migrations

# Our clients get every connection parameter explicitly; ignore the caller's.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE \
  PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGDATA

STATE=${PORTCULLIS_INFRA_DIR:-/tmp/portcullis-infra}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
STATE=$(realpath -m -- "$STATE")
# pg_ctl passes -o through a shell and unix socket paths are limited to 107
# bytes: keep the state dir path plain and short.
[[ $STATE =~ ^/[A-Za-z0-9._/+-]+$ && $STATE != / ]] ||
  die "PORTCULLIS_INFRA_DIR must be an absolute path of [A-Za-z0-9._/+-] (got '$STATE')"
[[ ${#STATE} -le 80 ]] || die "PORTCULLIS_INFRA_DIR is too long (${#STATE} > 80 chars): unix socket path limit"

MARKER=$STATE/.portcullis-infra
PORTS_FILE=$STATE/ports.env
ENV_FILE=$STATE/infra.env
SECRETS_DIR=$STATE/secrets
TLS_DIR=$STATE/tls
PG_DIR=$STATE/pg
PG_DATA=$PG_DIR/data
PG_SOCK=$PG_DIR/run
PG_LOG=$PG_DIR/log/postgres.log
KAFKA_DIR=$STATE/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_PROPS=$KAFKA_DIR/server.properties
KAFKA_LOG4J=$KAFKA_DIR/log4j2.yaml
KAFKA_LOG=$KAFKA_DIR/logs/server.log
KAFKA_OUT=$KAFKA_DIR/logs/stdout.log
KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_CLUSTER_ID=$KAFKA_DIR/cluster.id

if [[ $EUID -eq 0 ]]; then
  PG_OS_USER=postgres
else
  PG_OS_USER=$(id -un)
fi

# --- generic helpers ---------------------------------------------------------

# lock: serialise commands that change the state (fd 9 on the parent dir, so
# that `down` can delete the state dir itself). Children that outlive us must
# not inherit fd 9 (see as_pg and kafka_launch).
lock() {
  local parent
  parent=$(dirname -- "$STATE")
  mkdir -p -- "$parent" || die "cannot create $parent"
  exec 9<"$parent"
  flock -w 600 9 || die "timed out waiting for another infra.sh on $STATE"
}

# as_pg CMD...: run CMD as the OS user owning the cluster, from a dir it can
# read, without our lock fd.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && exec runuser -u "$PG_OS_USER" -- "$@") 9<&-
  else
    (cd / && exec "$@") 9<&-
  fi
}

initialised() { [[ -f $MARKER && -f $PORTS_FILE ]]; }

require_initialised() {
  initialised || die "no infrastructure in $STATE: run 'scripts/infra.sh up' first"
}

check_tools() {
  require_tool python3 python3
  require_tool openssl openssl
  require_tool flock util-linux
  require_tool setsid util-linux
  require_tool "$PG_BIN/initdb" postgresql-15
  require_tool "$PG_BIN/pg_ctl" postgresql-15
  require_tool "$PG_BIN/postgres" postgresql-15
  require_tool "$PG_BIN/psql" postgresql-client-15
  require_tool "$PG_BIN/pg_isready" postgresql-client-15
  require_tool java openjdk-17-jre-headless
  require_tool kcat kcat
  if [[ $EUID -eq 0 ]]; then
    require_tool runuser util-linux
    getent passwd "$PG_OS_USER" >/dev/null ||
      die "no '$PG_OS_USER' OS user (Debian package: postgresql-15); run scripts/deps.sh"
  fi
}

# init_state: create the state dir (refusing to adopt a foreign, non-empty dir).
init_state() {
  if [[ -d $STATE && ! -f $MARKER ]] && [[ -n "$(ls -A -- "$STATE")" ]]; then
    die "$STATE exists, is not empty and was not made by infra.sh: refusing to use it"
  fi
  local created=0
  [[ -d $STATE ]] || created=1
  mkdir -p -- "$STATE"
  chmod 755 -- "$STATE"
  if [[ $EUID -eq 0 ]] && ! runuser -u "$PG_OS_USER" -- test -x "$STATE"; then
    [[ $created -eq 1 ]] && rmdir -- "$STATE"
    die "the $PG_OS_USER user cannot traverse $STATE (check the parent dirs' permissions)"
  fi
  : >"$MARKER"
}

# ensure_ports: pick free loopback ports once; later runs reuse them.
ensure_ports() {
  if [[ ! -f $PORTS_FILE ]]; then
    local ports
    ports=$(free_ports 3) || die "could not pick free ports (python3 failed)"
    read -r PG_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT <<<"$ports"
    write_file_atomic "$PORTS_FILE" 644 <<EOF
PG_PORT=$PG_PORT
KAFKA_PORT=$KAFKA_PORT
KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
EOF
  fi
  load_ports
}

load_ports() {
  PG_PORT=$(env_get "$PORTS_FILE" PG_PORT) || die "PG_PORT missing in $PORTS_FILE"
  KAFKA_PORT=$(env_get "$PORTS_FILE" KAFKA_PORT) || die "KAFKA_PORT missing in $PORTS_FILE"
  KAFKA_CONTROLLER_PORT=$(env_get "$PORTS_FILE" KAFKA_CONTROLLER_PORT) ||
    die "KAFKA_CONTROLLER_PORT missing in $PORTS_FILE"
  local p
  for p in "$PG_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    [[ $p =~ ^[0-9]+$ ]] || die "bad port '$p' in $PORTS_FILE"
  done
}

# secret NAME: print the secret NAME, generating it (openssl rand) once.
secret() {
  local file=$SECRETS_DIR/$1
  if [[ ! -s $file ]]; then
    mkdir -p -- "$SECRETS_DIR"
    chmod 700 -- "$SECRETS_DIR"
    openssl rand -hex 16 | write_file_atomic "$file" 600
  fi
  cat -- "$file"
}

load_secrets() {
  PG_OWNER_PASSWORD=$(secret pg_owner_password)
  PG_APP_PASSWORD=$(secret pg_app_password)
  PG_INDEXER_PASSWORD=$(secret pg_indexer_password)
  [[ $PG_OWNER_PASSWORD =~ ^[0-9a-f]{32}$ && $PG_APP_PASSWORD =~ ^[0-9a-f]{32}$ &&
    $PG_INDEXER_PASSWORD =~ ^[0-9a-f]{32}$ ]] ||
    die "corrupt password files in $SECRETS_DIR (delete them, or run down + up)"
  # The platform operator's token (creates tenants). Services get only its
  # SHA-256; tools and tests read the token from the file.
  OPERATOR_TOKEN_FILE=$SECRETS_DIR/operator_token
  if [[ ! -s $OPERATOR_TOKEN_FILE ]]; then
    printf 'pco_%s' "$(openssl rand -hex 32)" | write_file_atomic "$OPERATOR_TOKEN_FILE" 600
  fi
  OPERATOR_TOKEN_SHA256=$(sha256sum <"$OPERATOR_TOKEN_FILE" | cut -d' ' -f1)
  PG_APP_DSN="host=$HOST port=$PG_PORT dbname=$PG_DATABASE user=$PG_APP_ROLE password=$PG_APP_PASSWORD"
  PG_INDEXER_DSN="host=$HOST port=$PG_PORT dbname=$PG_DATABASE user=$PG_INDEXER_ROLE password=$PG_INDEXER_PASSWORD"
  PG_OWNER_DSN="host=$HOST port=$PG_PORT dbname=$PG_DATABASE user=$PG_OWNER_ROLE password=$PG_OWNER_PASSWORD"
  PG_ADMIN_DSN="host=$PG_SOCK port=$PG_PORT dbname=$PG_DATABASE user=postgres"
}

# wait_for DESCRIPTION CHECK_FN ALIVE_FN LOG...: poll CHECK_FN every 0.25 s
# until it succeeds; fail if ALIVE_FN fails (the server died) or after
# $TIMEOUT seconds, showing the logs.
wait_for() {
  local what=$1 check=$2 alive=$3 deadline=$((SECONDS + TIMEOUT)) f
  shift 3
  while ! "$check"; do
    if ! "$alive"; then
      for f in "$@"; do tail_log "$f"; done
      die "$what: the server exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      for f in "$@"; do tail_log "$f"; done
      die "$what: not ready after ${TIMEOUT}s"
    fi
    sleep 0.25
  done
}

# --- PostgreSQL ----------------------------------------------------------------

pg_pid() {
  local pid
  [[ -r $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n 1 -- "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$pid"
}

# pg_alive: the postmaster of our data dir is running.
pg_alive() {
  local pid
  pid=$(pg_pid) || return 1
  pid_alive "$pid" && pid_cmdline_has "$pid" "$PG_DATA"
}

pg_accepting() {
  "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

# pg_app_ready: the application role can log in over TCP and run a query.
pg_app_ready() {
  pg_accepting &&
    [[ "$(PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" "$PG_APP_DSN" -XAtqc 'select 1' 2>/dev/null)" == 1 ]]
}

pg_init() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  log "initialising PostgreSQL 15 cluster in $PG_DATA"
  rm -rf -- "$PG_DATA"
  mkdir -p -- "$PG_DATA" "$PG_SOCK" "$(dirname -- "$PG_LOG")"
  chmod 700 -- "$PG_DATA"
  chmod 755 -- "$PG_DIR" "$PG_SOCK"
  if [[ $EUID -eq 0 ]]; then
    chown -R "$PG_OS_USER:" -- "$PG_DIR"
  fi
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    --no-instructions >"$STATE/initdb.log" 2>&1; then
    tail_log "$STATE/initdb.log"
    rm -rf -- "$PG_DATA"
    die "initdb failed"
  fi
  rm -f -- "$STATE/initdb.log"
  # Small-machine settings (port, socket dir and listen address are given on
  # the pg_ctl command line so that they follow the ports file).
  cat >>"$PG_DATA/postgresql.conf" <<'EOF'

# --- added by portcullis scripts/infra.sh ---
shared_buffers = 128MB
max_connections = 100
fsync = on
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

pg_start() {
  if pg_alive; then
    log "PostgreSQL already running on $HOST:$PG_PORT (pid $(pg_pid))"
    return 0
  fi
  [[ -f $PG_DATA/PG_VERSION ]] || die "no PostgreSQL cluster in $PG_DATA: run 'scripts/infra.sh up'"
  if port_open "$HOST" "$PG_PORT"; then
    die "port $HOST:$PG_PORT (PostgreSQL) is in use by another program; run 'scripts/infra.sh down' then 'up' to pick new ports"
  fi
  log "starting PostgreSQL on $HOST:$PG_PORT"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -s -w -t "$TIMEOUT" \
    -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=$HOST" start; then
    tail_log "$PG_LOG"
    die "PostgreSQL did not start"
  fi
}

# pg_stop [--kill]: fast shutdown (or immediate with --kill); returns non-zero
# if the postmaster is still alive afterwards.
pg_stop() {
  local mode=fast pid
  [[ ${1:-} == --kill ]] && mode=immediate
  if ! pg_alive; then
    log "PostgreSQL is not running"
    return 0
  fi
  pid=$(pg_pid)
  log "stopping PostgreSQL (pid $pid, mode $mode)"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -s -w -t "$TIMEOUT" -m "$mode" stop; then
    warn "pg_ctl stop -m $mode failed; trying immediate"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -s -w -t 10 -m immediate stop || true
  fi
  if pid_alive "$pid" && pid_cmdline_has "$pid" "$PG_DATA"; then
    warn "PostgreSQL still alive; sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  ! pid_alive "$pid"
}

# pg_bootstrap: roles, database and schema ownership (idempotent).
pg_bootstrap() {
  local out
  if ! out=$("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" \
    -U postgres -d postgres -f - 2>&1 <<EOF
\\set owner_pw '$PG_OWNER_PASSWORD'
\\set app_pw '$PG_APP_PASSWORD'
\\set indexer_pw '$PG_INDEXER_PASSWORD'
SELECT 'CREATE ROLE $PG_OWNER_ROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_OWNER_ROLE') \\gexec
SELECT 'CREATE ROLE $PG_APP_ROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_ROLE') \\gexec
ALTER ROLE $PG_OWNER_ROLE WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
  NOREPLICATION NOBYPASSRLS PASSWORD :'owner_pw';
ALTER ROLE $PG_APP_ROLE WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
  NOREPLICATION NOBYPASSRLS PASSWORD :'app_pw';
SELECT 'CREATE ROLE $PG_INDEXER_ROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_INDEXER_ROLE') \\gexec
ALTER ROLE $PG_INDEXER_ROLE WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
  NOREPLICATION BYPASSRLS PASSWORD :'indexer_pw';
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_OWNER_ROLE TEMPLATE template0 ENCODING ''UTF8'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE') \\gexec
ALTER DATABASE $PG_DATABASE OWNER TO $PG_OWNER_ROLE;
GRANT CONNECT ON DATABASE $PG_DATABASE TO $PG_APP_ROLE, $PG_INDEXER_ROLE;
\\connect $PG_DATABASE
ALTER SCHEMA public OWNER TO $PG_OWNER_ROLE;
GRANT USAGE ON SCHEMA public TO $PG_APP_ROLE, $PG_INDEXER_ROLE;
EOF
  ); then
    printf '%s\n' "$out" >&2
    die "could not create the PostgreSQL roles and database"
  fi
}

# --- Kafka -------------------------------------------------------------------

kafka_libs() {
  KAFKA_LIBS=$("$SCRIPTS_DIR/kafka-fetch.sh") || die "kafka-fetch.sh failed"
  [[ -d $KAFKA_LIBS ]] || die "kafka-fetch.sh printed '$KAFKA_LIBS', not a directory"
}

# kafka_pids: PIDs of broker JVMs running our server.properties (normally one).
kafka_pids() {
  local pid found=1
  if [[ -r $KAFKA_PID ]]; then
    pid=$(cat -- "$KAFKA_PID" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" && pid_cmdline_has "$pid" "kafka.Kafka $KAFKA_PROPS"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  # No usable pid file (e.g. killed during start-up): look for strays.
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    if pid_cmdline_has "$pid" "kafka.Kafka $KAFKA_PROPS" && pid_alive "$pid"; then
      printf '%s\n' "$pid"
      found=0
    fi
  done
  return "$found"
}

kafka_alive() { kafka_pids >/dev/null; }

# kafka_ready: the broker answers a metadata request and lists itself.
kafka_ready() {
  port_open "$HOST" "$KAFKA_PORT" || return 1
  kcat -b "$HOST:$KAFKA_PORT" -L -m 3 2>/dev/null |
    grep -q "broker $KAFKA_NODE_ID at $HOST:$KAFKA_PORT"
}

kafka_configure() {
  mkdir -p -- "$KAFKA_DATA" "$(dirname -- "$KAFKA_LOG")"
  write_file_atomic "$KAFKA_PROPS" 644 <<EOF
# Generated by scripts/infra.sh: single node, combined broker + controller.
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_NODE_ID@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
# After a SIGKILL the restarted controller must first fence the old broker
# incarnation: a short session makes that take ~4 s instead of ~9 s.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
  write_file_atomic "$KAFKA_LOG4J" 644 <<EOF
# Generated by scripts/infra.sh: broker logs go to one file.
Configuration:
  name: portcullis-kafka
  status: warn
  Appenders:
    File:
      name: file
      fileName: "$KAFKA_LOG"
      append: true
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: info
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka.request.logger
        level: warn
      - name: org.apache.kafka.clients
        level: warn
EOF
}

# kafka_format: format the log dir once with a cluster id generated once.
kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  if [[ ! -s $KAFKA_CLUSTER_ID ]]; then
    id=$(java "${KAFKA_TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
      -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_OUT" | tail -n 1) ||
      { tail_log "$KAFKA_OUT"; die "kafka StorageTool random-uuid failed"; }
    [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] || die "unexpected cluster id from StorageTool: '$id'"
    printf '%s\n' "$id" | write_file_atomic "$KAFKA_CLUSTER_ID" 644
  fi
  id=$(cat -- "$KAFKA_CLUSTER_ID")
  log "formatting Kafka storage in $KAFKA_DATA (cluster id $id)"
  rm -rf -- "$KAFKA_DATA"
  mkdir -p -- "$KAFKA_DATA"
  if ! java "${KAFKA_TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" \
    >>"$KAFKA_OUT" 2>&1; then
    tail_log "$KAFKA_OUT"
    rm -rf -- "$KAFKA_DATA"
    die "kafka StorageTool format failed"
  fi
}

# kafka_launch: start the broker JVM in its own session (no wait).
kafka_launch() {
  if kafka_alive; then
    log "Kafka already running on $HOST:$KAFKA_PORT (pid $(kafka_pids | head -n 1))"
    return 0
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$HOST" "$p"; then
      die "port $HOST:$p (Kafka) is in use by another program; run 'scripts/infra.sh down' then 'up' to pick new ports"
    fi
  done
  kafka_libs
  kafka_configure
  kafka_format
  log "starting Kafka on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)"
  rm -f -- "$KAFKA_PID"
  # The inner shell writes its own PID, then becomes the JVM.
  # shellcheck disable=SC2016 # $1/$@ belong to the inner shell
  setsid bash -c 'printf "%s\n" "$$" >"$1"; shift; exec "$@"' kafka-launch "$KAFKA_PID" \
    java "${KAFKA_JVM_OPTS[@]}" \
    -XX:ErrorFile="$KAFKA_DIR/logs/hs_err_%p.log" \
    -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
    </dev/null >>"$KAFKA_OUT" 2>&1 9<&- &
  local deadline=$((SECONDS + 10))
  until [[ -s $KAFKA_PID ]]; do
    ((SECONDS < deadline)) || die "Kafka launcher did not write $KAFKA_PID"
    sleep 0.05
  done
}

kafka_wait_ready() {
  wait_for "Kafka on $HOST:$KAFKA_PORT" kafka_ready kafka_alive "$KAFKA_OUT" "$KAFKA_LOG"
  log "Kafka ready on $HOST:$KAFKA_PORT (pid $(kafka_pids | head -n 1))"
}

# kafka_stop [--kill]: SIGTERM and wait (SIGKILL after 30 s), or SIGKILL at
# once with --kill. Returns non-zero if a broker is still alive.
kafka_stop() {
  local sig=TERM pids pid deadline
  [[ ${1:-} == --kill ]] && sig=KILL
  if ! pids=$(kafka_pids); then
    log "Kafka is not running"
    rm -f -- "$KAFKA_PID"
    return 0
  fi
  log "stopping Kafka (pid ${pids//$'\n'/ }, SIG$sig)"
  for pid in $pids; do kill "-$sig" "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 30))
  while kafka_alive; do
    if ((SECONDS >= deadline)); then
      if [[ $sig == KILL ]]; then
        warn "Kafka still alive after SIGKILL"
        return 1
      fi
      warn "Kafka did not stop within 30s; sending SIGKILL"
      sig=KILL
      for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
      deadline=$((SECONDS + 10))
    fi
    sleep 0.2
  done
  rm -f -- "$KAFKA_PID"
}

# --- env file ------------------------------------------------------------------

write_env() {
  write_file_atomic "$ENV_FILE" 600 <<EOF
PORTCULLIS_INFRA_DIR=$STATE
PORTCULLIS_PG_HOST=$HOST
PORTCULLIS_PG_PORT=$PG_PORT
PORTCULLIS_PG_DATABASE=$PG_DATABASE
PORTCULLIS_PG_SOCKET_DIR=$PG_SOCK
PORTCULLIS_PG_DSN=$PG_APP_DSN
PORTCULLIS_PG_INDEXER_DSN=$PG_INDEXER_DSN
PORTCULLIS_PG_OWNER_DSN=$PG_OWNER_DSN
PORTCULLIS_PG_ADMIN_DSN=$PG_ADMIN_DSN
PORTCULLIS_KAFKA_BROKERS=$HOST:$KAFKA_PORT
PORTCULLIS_TLS_CA=$TLS_DIR/ca.crt
PORTCULLIS_TLS_CERT=$TLS_DIR/server.crt
PORTCULLIS_TLS_KEY=$TLS_DIR/server.key
PORTCULLIS_OPERATOR_TOKEN_FILE=$OPERATOR_TOKEN_FILE
PORTCULLIS_OPERATOR_TOKEN_SHA256=$OPERATOR_TOKEN_SHA256
EOF
}

run_migrations() {
  if [[ ${PORTCULLIS_SKIP_MIGRATIONS:-0} == 1 ]]; then
    log "PORTCULLIS_SKIP_MIGRATIONS=1: not applying migrations"
    return 0
  fi
  log "applying migrations from $MIGRATIONS_DIR"
  # The DSN carries a password: pass it in the environment, not on the command line (ps).
  PORTCULLIS_PG_OWNER_DSN="$PG_OWNER_DSN" "$MIGRATE_BIN" --dir "$MIGRATIONS_DIR" >&2 ||
    die "migrations failed ($MIGRATE_BIN exited non-zero); servers are left running: fix and re-run 'up', or 'down'"
}

# --- commands ----------------------------------------------------------------

cmd_up() {
  local t0=$SECONDS
  check_tools
  if [[ ${PORTCULLIS_SKIP_MIGRATIONS:-0} != 1 ]]; then
    [[ -x $MIGRATE_BIN ]] ||
      die "migration runner not found at $MIGRATE_BIN: build first: cmake --build build --target portcullis-migrate (or set PORTCULLIS_SKIP_MIGRATIONS=1)"
    [[ -d $MIGRATIONS_DIR ]] || die "no migrations dir at $MIGRATIONS_DIR"
  fi
  lock
  init_state
  ensure_ports
  load_secrets
  gen_dev_tls "$TLS_DIR"
  # The JVM takes seconds to start: launch it first, set PostgreSQL up meanwhile.
  kafka_launch
  pg_init
  pg_start
  pg_bootstrap
  wait_for "PostgreSQL on $HOST:$PG_PORT" pg_app_ready pg_alive "$PG_LOG"
  log "PostgreSQL ready on $HOST:$PG_PORT (pid $(pg_pid))"
  kafka_wait_ready
  write_env
  run_migrations
  log "up in $((SECONDS - t0))s; env file:"
  printf '%s\n' "$ENV_FILE"
}

cmd_down() {
  lock
  if [[ ! -e $STATE ]]; then
    log "nothing to do: $STATE does not exist"
    return 0
  fi
  if [[ ! -f $MARKER ]] && [[ -n "$(ls -A -- "$STATE")" ]]; then
    die "$STATE was not made by infra.sh: refusing to delete it"
  fi
  local ok=0
  kafka_stop || ok=1
  pg_stop || ok=1
  if [[ $ok -ne 0 ]]; then
    die "some server would not stop; $STATE kept (see its logs)"
  fi
  rm -rf -- "$STATE"
  log "down: stopped and removed $STATE"
}

cmd_status() {
  local rc=0
  if ! initialised; then
    printf 'postgres: stopped (no state in %s)\n' "$STATE"
    printf 'kafka: stopped (no state in %s)\n' "$STATE"
    return 3
  fi
  load_ports
  if pg_alive && pg_accepting; then
    printf 'postgres: running %s:%s (pid %s)\n' "$HOST" "$PG_PORT" "$(pg_pid)"
  elif pg_alive; then
    printf 'postgres: starting %s:%s (pid %s, not accepting connections)\n' "$HOST" "$PG_PORT" "$(pg_pid)"
    rc=3
  else
    printf 'postgres: stopped %s:%s\n' "$HOST" "$PG_PORT"
    rc=3
  fi
  if kafka_alive && kafka_ready; then
    printf 'kafka: running %s:%s (pid %s)\n' "$HOST" "$KAFKA_PORT" "$(kafka_pids | head -n 1)"
  elif kafka_alive; then
    printf 'kafka: starting %s:%s (pid %s, not answering metadata)\n' "$HOST" "$KAFKA_PORT" "$(kafka_pids | head -n 1)"
    rc=3
  else
    printf 'kafka: stopped %s:%s\n' "$HOST" "$KAFKA_PORT"
    rc=3
  fi
  return "$rc"
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no env file at $ENV_FILE: run 'scripts/infra.sh up' first"
  printf '%s\n' "$ENV_FILE"
}

cmd_stop() {
  local svc=$1 kill=$2
  lock
  require_initialised
  load_ports
  case $svc in
    pg) pg_stop ${kill:+"$kill"} || die "PostgreSQL would not stop" ;;
    kafka) kafka_stop ${kill:+"$kill"} || die "Kafka would not stop" ;;
  esac
}

cmd_start() {
  local svc=$1
  check_tools
  lock
  require_initialised
  [[ -f $ENV_FILE ]] || die "no env file: run 'scripts/infra.sh up' first"
  load_ports
  load_secrets
  case $svc in
    pg)
      pg_start
      wait_for "PostgreSQL on $HOST:$PG_PORT" pg_app_ready pg_alive "$PG_LOG"
      log "PostgreSQL ready on $HOST:$PG_PORT (pid $(pg_pid))"
      ;;
    kafka)
      kafka_launch
      kafka_wait_ready
      ;;
  esac
}

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up | down | status | env)
      [[ $# -eq 0 ]] || die "'$cmd' takes no arguments"
      "cmd_$cmd"
      ;;
    stop | start)
      local svc="" kill="" arg usage_args="pg|kafka"
      [[ $cmd == stop ]] && usage_args="pg|kafka [--kill]"
      for arg in "$@"; do
        case $arg in
          pg | kafka) [[ -z $svc ]] || die "one service at a time"; svc=$arg ;;
          --kill) [[ $cmd == stop ]] || die "--kill is for 'stop' only"; kill=--kill ;;
          *) die "unknown argument '$arg' (usage: infra.sh $cmd $usage_args)" ;;
        esac
      done
      [[ -n $svc ]] || die "usage: infra.sh $cmd $usage_args"
      if [[ $cmd == stop ]]; then cmd_stop "$svc" "$kill"; else cmd_start "$svc"; fi
      ;;
    -h | --help | help)
      usage
      ;;
    "")
      usage >&2
      exit 2
      ;;
    *)
      usage >&2
      die "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
