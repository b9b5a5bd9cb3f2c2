#!/usr/bin/env bash
# Stops the local Kafka cluster started by kafka-up.sh: SIGTERM to every node (a clean shutdown),
# SIGKILL to any still running after KAFKA_STOP_TIMEOUT seconds (default 10: the data is deleted anyway,
# and the last node of a 3-node cluster can wait long in shutdown once the others are gone), then removes
# the run dir ($KAFKA_RUN_DIR, default infra/kafka/.run) with its data. KAFKA_KEEP_LOGS=1 keeps the
# nodes' logs (node-*/logs) and removes only the rest. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

stop_timeout="${KAFKA_STOP_TIMEOUT:-10}"
[[ "$stop_timeout" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be a number of seconds (got '$stop_timeout')"

if [[ ! -d "$KAFKA_RUN_DIR" ]]; then
  log "no cluster to stop ($KAFKA_RUN_DIR does not exist)"
  exit 0
fi

start="$(now_ms)"
declare -A pids=()
for d in "$KAFKA_RUN_DIR"/node-*; do
  [[ -d "$d" ]] || continue
  n="${d##*/node-}"
  pid="$(node_pid "$n")"
  if [[ -n "$pid" ]]; then pids[$n]="$pid"; fi
done

if ((${#pids[@]})); then
  log "stopping node(s) ${!pids[*]} (SIGTERM, SIGKILL after ${stop_timeout}s)..."
  for n in "${!pids[@]}"; do kill -TERM "${pids[$n]}" 2>/dev/null || true; done
  deadline=$(($(date +%s) + stop_timeout))
  while :; do
    alive=()
    for n in "${!pids[@]}"; do
      if kill -0 "${pids[$n]}" 2>/dev/null; then alive+=("$n"); fi
    done
    ((${#alive[@]})) || break
    if (($(date +%s) >= deadline)); then
      log "node(s) ${alive[*]} still running after ${stop_timeout}s: SIGKILL"
      for n in "${alive[@]}"; do kill -KILL "${pids[$n]}" 2>/dev/null || true; done
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  log "stopped in $(elapsed "$start")"
else
  log "no node running"
fi

if [[ "${KAFKA_KEEP_LOGS:-0}" == 1 ]]; then
  [[ -f "$KAFKA_RUN_DIR/cluster.env" ]] || die "refusing to clean $KAFKA_RUN_DIR: no cluster.env (not a Kafka run dir of ours)"
  find "$KAFKA_RUN_DIR" -mindepth 1 -maxdepth 1 ! -name 'node-*' ! -name cluster.env -exec rm -rf {} +
  for d in "$KAFKA_RUN_DIR"/node-*; do
    [[ -d "$d" ]] || continue
    find "$d" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  done
  log "removed the cluster's data; logs kept in $KAFKA_RUN_DIR/node-*/logs"
else
  remove_run_dir
  log "removed $KAFKA_RUN_DIR"
fi
