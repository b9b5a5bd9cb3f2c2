#!/usr/bin/env bash
# Stops one node of the running local cluster, for fault tests: kafka-kill-node.sh N [--graceful]
# Default: SIGKILL (a crash: no controlled shutdown, the controller fences it after
# broker.session.timeout.ms = 6 s). --graceful: SIGTERM and wait (a clean, controlled shutdown, leadership
# moved first), SIGKILL after KAFKA_STOP_TIMEOUT seconds (default 20). The node's data dir stays, so
# kafka-start-node.sh N brings it back with its log.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() {
  echo "usage: kafka-kill-node.sh N [--graceful]" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
n="$1"
graceful=0
if (($# == 2)); then
  [[ "$2" == --graceful ]] || usage
  graceful=1
fi
load_cluster # sets KAFKA_NODES, KAFKA_PORT_BASE, CLUSTER_ID, BOOTSTRAP
if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > KAFKA_NODES)); then
  die "no node '$n': the cluster has nodes 1..$KAFKA_NODES"
fi
pid="$(node_pid "$n")"
[[ -n "$pid" ]] || die "node $n is not running"

start="$(now_ms)"
if ((graceful)); then
  stop_timeout="${KAFKA_STOP_TIMEOUT:-20}"
  kill -TERM "$pid"
  deadline=$(($(date +%s) + stop_timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if (($(date +%s) >= deadline)); then
      log "node $n still running after ${stop_timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((deadline + 3600))
    fi
    sleep 0.1
  done
  log "node $n (pid $pid, broker 127.0.0.1:$(broker_port "$n" "$KAFKA_NODES")) stopped gracefully in $(elapsed "$start")"
else
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  log "node $n (pid $pid, broker 127.0.0.1:$(broker_port "$n" "$KAFKA_NODES")) killed (SIGKILL)"
fi
