#!/usr/bin/env bash
# Benchmark of portcullis-agent's seccomp supervision: the cost a workload pays
# under the agent, each figure beside a baseline measured in the same run, as a
# ratio with its target:
#   1. getppid loop under the agent (a file + network policy: a filter is
#      installed, getppid is not intercepted) vs native; target <= 1.5 x.
#   2. an intercepted open+close, agent in permissive mode vs a minimal
#      supervisor doing the same kind of answer (receive, path read,
#      ID_VALID, open, ADDFD + SEND); target <= 1.3 x. The agent answers every
#      open with ADDFD, permissive or not (tests/bench/README.md,
#      "agent_bench.sh"), so the minimal CONTINUE round trip is printed too,
#      among the reference rows (no target), with the minimal supervisors
#      against native and the creates under the minimal ADDFD supervisor.
#   3. the race-safe open (agent enforcing: lookup, decision, reopen, ADDFD +
#      SEND) vs the minimal ADDFD supervisor; target <= 1.3 x.
#   4. create + write + close of many files in one directory under the agent
#      (file rules) vs native, as throughput; target >= 0.5 x.
# Among the reference rows, the "checked" supervisor: the minimal ADDFD one
# plus the system calls the agent's fast path makes besides deciding (the
# caller's credentials, the object's type, the open in the caller's root,
# O_NONBLOCK off again): against it, the agent's own work; against the
# minimal ADDFD supervisor, what reading the credentials and checking the
# type cost by themselves.
# Every side runs once per round, in an order that rotates each round, for
# BENCH_ROUNDS rounds; the table shows the medians (ns per operation: wall
# clock, and CPU time of all processes of the run), so machine noise hits both
# sides of a ratio alike. Prints the load average before and after. Builds
# nothing; needs no privilege.
#
# Usage: tests/bench/agent_bench.sh
# Environment (all optional):
#   BENCH_BUILD_DIR     where the binaries are (default build): bin/portcullis-agent,
#                       bin/agent_bench_workload, bin/agent_bench_baseline
#                       (cmake --build BUILD --target portcullis-agent
#                        agent_bench_workload agent_bench_baseline)
#   BENCH_ROUNDS        rounds (default 5)
#   BENCH_GETPPID       getppid calls per run (default 2000000)
#   BENCH_OPENS         opens per run (default 20000)
#   BENCH_FILES         files created per run (default 5000)
#   BENCH_CREATE_DIR    where the files are created (default /dev/shm: tmpfs,
#                       CPU-bound, the strictest case; a disk file system adds
#                       the same I/O time to both sides)
#   BENCH_CPU           a CPU number: every side runs pinned to that CPU
#                       (taskset), workload and supervisor alike; each
#                       wake-up is then local, and the figures show the cost
#                       of the software path without the machine's cross-CPU
#                       wake-ups (tests/bench/README.md)
#   PORTCULLIS_AGENT_BIN, AGENT_BENCH_WORKLOAD_BIN, AGENT_BENCH_BASELINE_BIN
#                       the binaries
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib.sh
source "$BENCH_DIR/../../scripts/lib.sh"
REPO=$PORTCULLIS_REPO

BUILD=${BENCH_BUILD_DIR:-$REPO/build}
AGENT=${PORTCULLIS_AGENT_BIN:-$BUILD/bin/portcullis-agent}
WORKLOAD=${AGENT_BENCH_WORKLOAD_BIN:-$BUILD/bin/agent_bench_workload}
BASELINE=${AGENT_BENCH_BASELINE_BIN:-$BUILD/bin/agent_bench_baseline}
ROUNDS=${BENCH_ROUNDS:-5}
GETPPID=${BENCH_GETPPID:-2000000}
OPENS=${BENCH_OPENS:-20000}
FILES=${BENCH_FILES:-5000}
CREATE_DIR=${BENCH_CREATE_DIR:-/dev/shm}
PIN=()
if [[ -n ${BENCH_CPU:-} ]]; then
  [[ $BENCH_CPU =~ ^[0-9]+$ ]] || die "BENCH_CPU must be a CPU number (got '$BENCH_CPU')"
  command -v taskset >/dev/null || die "BENCH_CPU needs taskset (util-linux)"
  PIN=(taskset -c "$BENCH_CPU")
fi

for v in ROUNDS GETPPID OPENS FILES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
for bin in "$AGENT" "$WORKLOAD" "$BASELINE"; do
  [[ -x $bin ]] || die "no binary at $bin: cmake --build $BUILD --target portcullis-agent" \
    "agent_bench_workload agent_bench_baseline"
done
[[ -d $CREATE_DIR && -w $CREATE_DIR ]] || die "BENCH_CREATE_DIR $CREATE_DIR is not a writable directory"

WORK=$(mktemp -d /tmp/agent-bench.XXXXXX)
FILES_DIR=$(mktemp -d "$CREATE_DIR/agent-bench-files.XXXXXX")
cleanup() { rm -rf -- "$WORK" "$FILES_DIR"; }
trap cleanup EXIT

# A realistic policy: file rules (denies, a read-only tree, a monitor) and
# network rules, so open/openat/creat/... and connect/sendto/... go to the
# agent and getppid stays in the kernel's allow path.
mkdir -p "$WORK/data"
printf 'benchmark data\n' >"$WORK/data/allowed"
cat >"$WORK/policy.json" <<EOF
{"name": "agent-bench", "hardening": ["deny-io-uring"], "rules": [
  {"id": "no-secrets", "type": "file", "action": "deny",
   "paths": ["/etc/shadow", "/etc/gshadow", "/root/.ssh/", "$WORK/data/denied"]},
  {"id": "etc-read-only", "type": "file", "action": "deny", "paths": ["/etc/", "/usr/"],
   "operations": ["write", "create", "delete", "rename", "chmod"]},
  {"id": "watch-keys", "type": "file", "action": "monitor", "paths": ["/home/*/.ssh/**"]},
  {"id": "no-metadata", "type": "network", "action": "deny", "direction": "outbound",
   "addresses": ["169.254.169.254/32", "fd00:ec2::254/128"]},
  {"id": "no-smtp", "type": "network", "action": "deny", "direction": "outbound",
   "ports": ["25"], "protocol": "tcp"}]}
EOF

agent() { "${PIN[@]}" "$AGENT" --policy "$WORK/policy.json" --events "$WORK/events.pb" --log-level warn "$@"; }

# CPU time (user + system, clock ticks) of this shell's waited-for children
# and their descendants: /proc/PID/stat cutime + cstime.
children_ticks() {
  local stat fields
  stat=$(</proc/$$/stat)
  read -ra fields <<<"${stat##*) }"
  echo $((fields[13] + fields[14]))
}
TICK_NS=$((1000000000 / $(getconf CLK_TCK)))

# run NAME: one run of that side; appends its wall-clock ns per operation to
# WORK/NAME and the CPU ns per operation of every process of the run (agent or
# supervisor, and workload) to WORK/NAME.cpu.
run() {
  local name=$1 out ops ticks
  local target=$WORK/data/allowed
  ticks=$(children_ticks)
  case $name in
    getppid_native) out=$("${PIN[@]}" "$WORKLOAD" getppid "$GETPPID") ;;
    getppid_agent) out=$(agent -- "$WORKLOAD" getppid "$GETPPID") ;;
    open_native) out=$("${PIN[@]}" "$WORKLOAD" open "$target" "$OPENS") ;;
    open_continue) out=$("${PIN[@]}" "$BASELINE" continue -- "$WORKLOAD" open "$target" "$OPENS") ;;
    open_addfd) out=$("${PIN[@]}" "$BASELINE" addfd -- "$WORKLOAD" open "$target" "$OPENS") ;;
    open_checked) out=$("${PIN[@]}" "$BASELINE" checked -- "$WORKLOAD" open "$target" "$OPENS") ;;
    open_agent_permissive) out=$(agent --permissive -- "$WORKLOAD" open "$target" "$OPENS") ;;
    open_agent) out=$(agent -- "$WORKLOAD" open "$target" "$OPENS") ;;
    create_native | create_continue | create_addfd | create_checked | create_agent)
      rm -rf -- "$FILES_DIR/run"
      mkdir "$FILES_DIR/run"
      case $name in
        create_native) out=$("${PIN[@]}" "$WORKLOAD" create "$FILES_DIR/run" "$FILES") ;;
        create_continue) out=$("${PIN[@]}" "$BASELINE" continue -- "$WORKLOAD" create "$FILES_DIR/run" "$FILES") ;;
        create_addfd) out=$("${PIN[@]}" "$BASELINE" addfd -- "$WORKLOAD" create "$FILES_DIR/run" "$FILES") ;;
        create_checked) out=$("${PIN[@]}" "$BASELINE" checked -- "$WORKLOAD" create "$FILES_DIR/run" "$FILES") ;;
        *) out=$(agent -- "$WORKLOAD" create "$FILES_DIR/run" "$FILES") ;;
      esac
      rm -rf -- "$FILES_DIR/run"
      ;;
    *) die "unknown run $name" ;;
  esac
  [[ $out =~ ^ns_per_op\ ([0-9.]+)$ ]] || die "$name: unexpected output '$out'"
  echo "${BASH_REMATCH[1]}" >>"$WORK/$name"
  case $name in
    getppid_*) ops=$GETPPID ;;
    open_*) ops=$OPENS ;;
    *) ops=$FILES ;;
  esac
  # (warm-up included: N + N/10 operations, at most N + 1000)
  ops=$((ops + (ops / 10 < 1000 ? ops / 10 : 1000)))
  echo $((($(children_ticks) - ticks) * TICK_NS / ops)) >>"$WORK/$name.cpu"
}

median() { sort -g "$WORK/$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

SIDES=(getppid_native getppid_agent open_native open_continue open_addfd open_checked
  open_agent_permissive open_agent create_native create_continue create_addfd create_checked
  create_agent)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, load average $LOAD_BEFORE; $ROUNDS rounds;" \
  "${PIN[*]:+pinned: ${PIN[*]};}" \
  "files in $CREATE_DIR ($(stat -f -c %T "$CREATE_DIR"))"
for ((round = 0; round < ROUNDS; round++)); do
  # Rotate the order (and reverse it every other round): no side always
  # runs first, or always right after the same neighbour.
  order=()
  for ((i = 0; i < ${#SIDES[@]}; i++)); do
    order+=("${SIDES[(i + round) % ${#SIDES[@]}]}")
  done
  if ((round % 2 == 1)); then
    for ((i = ${#order[@]} - 1; i >= 0; i--)); do run "${order[i]}"; done
  else
    for side in "${order[@]}"; do run "$side"; done
  fi
  log "round $((round + 1))/$ROUNDS done (load $(cut -d' ' -f1 /proc/loadavg))"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# row LABEL A B OP TARGET: side A against side B, ratio of the medians;
# for ">=" (a throughput target) the ratio is B's time over A's. TARGET "-":
# no target (a reference row).
row() {
  local a=$2 b=$3
  awk -v label="$1" -v an="$a" -v bn="$b" -v op="$4" -v t="$5" \
    -v a="$(median "$a")" -v b="$(median "$b")" \
    -v ac="$(median "$a.cpu")" -v bc="$(median "$b.cpu")" 'BEGIN {
    r = (op == "<=") ? a / b : b / a
    rc = (op == "<=") ? ac / bc : bc / ac
    verdict = (t == "-") ? "" : (((op == "<=") ? (r <= t) : (r >= t)) ? "met" : "NOT met")
    printf "%-36s %-22s %8.0f  %-14s %8.0f  %6.2f  %s %-4s %-8s %8.0f %8.0f  %6.2f\n", label, an, a,
      bn, b, r, (t == "-") ? "  " : op, t, verdict, ac, bc, rc
  }'
}

printf '\nmedians of %s rounds; ns per operation (create: per file), wall clock and CPU (all processes)\n' "$ROUNDS"
printf '%-36s %-22s %8s  %-14s %8s  %6s  %-16s %8s %8s  %6s\n' comparison "side A" wall "side B" wall \
  ratio target "cpu A" "cpu B" ratio
row "1 getppid, filter installed" getppid_agent getppid_native "<=" 1.5
row "2 open+close, agent permissive" open_agent_permissive open_addfd "<=" 1.3
row "3 open+close, race-safe (enforce)" open_agent open_addfd "<=" 1.3
row "4 create+write+close (throughput)" create_agent create_native ">=" 0.5
printf '\nfor reference:\n'
row "  open+close, agent permissive" open_agent_permissive open_continue "<=" -
row "  minimal ADDFD supervisor, open" open_addfd open_native "<=" -
row "  minimal CONTINUE supervisor, open" open_continue open_native "<=" -
row "  create, minimal ADDFD supervisor" create_addfd create_native ">=" -
row "  create, minimal CONTINUE supervisor" create_continue create_native ">=" -
row "  checked supervisor, open" open_checked open_addfd "<=" -
row "  open+close, race-safe vs checked" open_agent open_checked "<=" -
row "  create, checked supervisor" create_checked create_native ">=" -
printf 'load average: before %s, after %s (%s cores)\n' "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)"
