#!/usr/bin/env bash
# make bench: compiles bench/ (swc), runs every benchmark (bench/main.ts), and whatever happens stops
# the benchmark's own Kafka node and any benchmark process still running. Settings (all optional):
#   BENCH_DURATION=S  seconds per measured run (default 8)     BENCH_QUICK=1  2-second runs, for a try
#   BENCH_ONLY=a,b    only these steps (http, http-profile, in-process, classifier, rebuild,
#                     stop-embedded, ingest-embedded, stop-kafka, ingest-kafka); writes partial.json
#   KAFKA_PORT_BASE   the benchmark's broker port (default 9292; the developer's is 9092, the tests' 9192)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

export BENCH_ROOT="$root"
export BENCH_SCRATCH="${BENCH_SCRATCH:-$root/.tmp/bench}"
export KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$root/.tmp/kafka-bench}"
export KAFKA_PORT_BASE="${KAFKA_PORT_BASE:-9292}"
export KAFKA_NODES=1

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Benchmark processes left behind (each figure runs in its own process group): by id, and only if
  # that id is still one of ours.
  if [[ -f "$BENCH_SCRATCH/figure-pids" ]]; then
    while read -r pid; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      if { tr "\0" " " <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "dist/bench/figure.js"; then
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
    done <"$BENCH_SCRATCH/figure-pids"
  fi
  "$root/infra/kafka/kafka-down.sh" >/dev/null 2>&1 || echo "bench: stopping the benchmark's Kafka failed; see $KAFKA_RUN_DIR" >&2
  rm -rf "$BENCH_SCRATCH"
  exit "$status"
}
trap cleanup EXIT INT TERM

rm -rf "$BENCH_SCRATCH"
mkdir -p "$BENCH_SCRATCH"
node bench/compile.cjs
start=$(date +%s)
node dist/bench/main.js
echo "bench: make bench took $(($(date +%s) - start)) s after the build"
