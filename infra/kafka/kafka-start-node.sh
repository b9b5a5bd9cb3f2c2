#!/usr/bin/env bash
# Starts again one node of the local cluster that kafka-kill-node.sh stopped, with its existing config
# and data dir: kafka-start-node.sh N. Waits (KAFKA_READY_TIMEOUT, default 60 s) until the cluster lists
# its broker again.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

(($# == 1)) || {
  echo "usage: kafka-start-node.sh N" >&2
  exit 2
}
n="$1"
load_cluster # sets KAFKA_NODES, KAFKA_PORT_BASE, CLUSTER_ID, BOOTSTRAP
if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > KAFKA_NODES)); then
  die "no node '$n': the cluster has nodes 1..$KAFKA_NODES"
fi
[[ -f "$(node_dir "$n")/server.properties" ]] || die "node $n has no config in $(node_dir "$n") (start a cluster with make kafka-up)"
pid="$(node_pid "$n")"
[[ -z "$pid" ]] || die "node $n is already running (pid $pid)"
timeout="${KAFKA_READY_TIMEOUT:-60}"

find_java
for p in "$(broker_port "$n" "$KAFKA_NODES")" "$(controller_port "$n" "$KAFKA_NODES")"; do
  holder="$(port_holder "$p")"
  [[ -z "$holder" ]] || die "cannot start node $n: port $p is in use by: $holder"
done

start="$(now_ms)"
echo "----- restarted by kafka-start-node.sh at $(date -Is) -----" >>"$(node_dir "$n")/logs/kafka.out"
start_node_process "$n"
# shellcheck disable=SC2153 # BOOTSTRAP comes from cluster.env
wait_ready "$BOOTSTRAP" "$timeout" "$n"
log "node $n back: broker 127.0.0.1:$(broker_port "$n" "$KAFKA_NODES"), pid $(node_pid "$n"), ready in $(elapsed "$start")"
