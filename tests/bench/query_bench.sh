#!/usr/bin/env bash
# Benchmark of QQL: each query of a fixed set (tests/bench/query_workload.h:
# selective filters, CIDR, wildcard, count by, top, timechart) on a generated
# dataset of 10 million events, timed as the query service runs it (compile +
# execute as the application role under row-level security) beside a
# hand-written SQL equivalent, alternately in one run; prints p50/p95 per
# query and the ratios (target: QQL at most 1.1 x hand-written). Exits 1 if a
# QQL query and its hand-written twin return different rows.
#
# Usage: tests/bench/query_bench.sh
# Environment (all optional):
#   BENCH_EVENTS      events in the dataset (default 10000000)
#   BENCH_DAYS        days they span, ending now (default 10)
#   BENCH_ITERATIONS  timed runs per query and side (default 40)
#   PORTCULLIS_INFRA_DIR  the infrastructure's state (default here:
#                     /tmp/pc-query-bench, a stack of its own)
#   QUERY_BENCH_BIN   the binary (default build/bin/query_bench)
# The dataset takes several minutes to load. It stays in the benchmark's own
# stack, which is left running, so the next run reuses it (same BENCH_EVENTS);
# `PORTCULLIS_INFRA_DIR=/tmp/pc-query-bench scripts/infra.sh down` removes it.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib.sh
source "$BENCH_DIR/../../scripts/lib.sh"
REPO=$PORTCULLIS_REPO
INFRA=$REPO/scripts/infra.sh
export PORTCULLIS_INFRA_DIR=${PORTCULLIS_INFRA_DIR:-/tmp/pc-query-bench}

EVENTS=${BENCH_EVENTS:-10000000}
DAYS=${BENCH_DAYS:-10}
ITERATIONS=${BENCH_ITERATIONS:-40}
BENCH_BIN=${QUERY_BENCH_BIN:-$REPO/build/bin/query_bench}
for v in EVENTS DAYS ITERATIONS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ -x $BENCH_BIN ]] || die "no benchmark binary at $BENCH_BIN: cmake --build build --target query_bench"

ENV_FILE=$("$INFRA" up) || die "scripts/infra.sh up failed"
log "infrastructure in $PORTCULLIS_INFRA_DIR (left running: it holds the dataset)"
log "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH_BIN" --config="$ENV_FILE" --events="$EVENTS" --days="$DAYS" --iterations="$ITERATIONS"
