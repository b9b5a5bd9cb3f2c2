#!/usr/bin/env bash
# Starts a local Kafka cluster in KRaft mode from the Maven-resolved jars (resolve.sh), as child JVMs.
#   KAFKA_NODES=1 (default): one combined broker+controller node, broker on 127.0.0.1:9092 (controller 9093).
#   KAFKA_NODES=3: three combined nodes, brokers on 127.0.0.1:19092/29092/39092 (controllers 19093/29093/
#   39093), static controller quorum, replication factor 3, min.insync.replicas 2.
# Every run starts from fresh data in $KAFKA_RUN_DIR (default infra/kafka/.run): node-<n>/ holds
# server.properties, data/, logs/ (server.log, kafka.out) and pid. cluster.env and bootstrap describe the
# cluster for the other scripts. Stop it with kafka-down.sh. Other settings: see lib.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KAFKA_NODES="${KAFKA_NODES:-1}"
[[ "$KAFKA_NODES" =~ ^[1-5]$ ]] || die "KAFKA_NODES must be 1..5 (got '$KAFKA_NODES')"
[[ "$KAFKA_PORT_BASE" =~ ^[0-9]+$ ]] || die "KAFKA_PORT_BASE must be a port number (got '$KAFKA_PORT_BASE')"
if (($(controller_port "$KAFKA_NODES" "$KAFKA_NODES") > 65535)); then
  die "KAFKA_PORT_BASE=$KAFKA_PORT_BASE gives ports above 65535 for $KAFKA_NODES nodes"
fi
timeout="${KAFKA_READY_TIMEOUT:-60}"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "KAFKA_READY_TIMEOUT must be a number of seconds (got '$timeout')"

find_java
ensure_resolved
version="$(cat "$KAFKA_LIB_DIR/version")"

# A cluster of ours still running: refuse rather than wipe the data under it.
if [[ -f "$KAFKA_RUN_DIR/cluster.env" ]]; then
  running=()
  for d in "$KAFKA_RUN_DIR"/node-*; do
    [[ -d "$d" ]] || continue
    n="${d##*/node-}"
    if [[ -n "$(node_pid "$n")" ]]; then running+=("node $n (pid $(node_pid "$n"))"); fi
  done
  if ((${#running[@]})); then
    die "a Kafka cluster is already running from $KAFKA_RUN_DIR: ${running[*]}; stop it first (make kafka-down, or $KAFKA_DIR/kafka-down.sh)"
  fi
fi

# Every port must be free before anything starts.
busy=()
for i in $(seq 1 "$KAFKA_NODES"); do
  for p in "$(broker_port "$i" "$KAFKA_NODES")" "$(controller_port "$i" "$KAFKA_NODES")"; do
    holder="$(port_holder "$p")"
    if [[ -n "$holder" ]]; then busy+=("port $p is in use by: $holder"); fi
  done
done
if ((${#busy[@]})); then
  printf 'kafka: error: %s\n' "${busy[@]}" >&2
  die "cannot start $KAFKA_NODES node(s): port(s) in use (see above). Another Kafka? Stop it (make kafka-down) or free the port."
fi

start="$(now_ms)"
remove_run_dir
mkdir -p "$KAFKA_RUN_DIR"

cluster_id="$(new_cluster_id)"
voters=""
bootstrap=""
for i in $(seq 1 "$KAFKA_NODES"); do
  voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i" "$KAFKA_NODES")"
  bootstrap+="${bootstrap:+,}127.0.0.1:$(broker_port "$i" "$KAFKA_NODES")"
done
rf=$((KAFKA_NODES < 3 ? KAFKA_NODES : 3))
min_isr=$((rf >= 3 ? 2 : 1))

for i in $(seq 1 "$KAFKA_NODES"); do
  dir="$(node_dir "$i")"
  mkdir -p "$dir/data" "$dir/logs"
  bp="$(broker_port "$i" "$KAFKA_NODES")"
  cp="$(controller_port "$i" "$KAFKA_NODES")"
  cat >"$dir/server.properties" <<EOF
# Written by infra/kafka/kafka-up.sh: node $i of $KAFKA_NODES, Kafka $version, KRaft combined mode.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bp,CONTROLLER://127.0.0.1:$cp
advertised.listeners=PLAINTEXT://127.0.0.1:$bp
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data

# Topics: the app creates its own (auto-creation would hide a missing create); keep everything forever.
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$min_isr
log.retention.ms=-1
unclean.leader.election.enable=false

# Internal topics replicated like the app's, with fewer partitions than the production defaults (faster
# to create on first use).
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr

# Test speed: no wait for more members before the first rebalance; a killed node is fenced (and dropped
# from the ISR, so acks=all goes on with the others) after 6 s instead of 9 s.
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000

# Small thread pools: up to 5 nodes share 2 cores.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
EOF
done

cat >"$KAFKA_RUN_DIR/cluster.env" <<EOF
KAFKA_NODES=$KAFKA_NODES
KAFKA_PORT_BASE=$KAFKA_PORT_BASE
CLUSTER_ID=$cluster_id
BOOTSTRAP=$bootstrap
EOF
echo "$bootstrap" >"$KAFKA_RUN_DIR/bootstrap"

log "formatting $KAFKA_NODES node(s) (cluster id $cluster_id) with $KAFKA_STORAGE_TOOL..."
pids=()
for i in $(seq 1 "$KAFKA_NODES"); do
  kafka_tool "$KAFKA_STORAGE_TOOL" format --cluster-id "$cluster_id" --config "$(node_dir "$i")/server.properties" \
    >"$(node_dir "$i")/logs/format.out" 2>&1 &
  pids+=($!)
done
for idx in "${!pids[@]}"; do
  if ! wait "${pids[$idx]}"; then
    n=$((idx + 1))
    cat "$(node_dir "$n")/logs/format.out" >&2
    die "kafka-storage format failed for node $n (above)"
  fi
done

# From here on, a failed start leaves no node running (logs stay in the run dir for a look).
started=()
cleanup_on_failure() {
  local rc=$?
  if ((rc != 0)); then
    for n in "${started[@]}"; do
      pid="$(node_pid "$n")"
      if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    echo "kafka: startup failed; nodes stopped, logs kept under $KAFKA_RUN_DIR/node-*/logs ($KAFKA_DIR/kafka-down.sh, i.e. make kafka-down, removes them)" >&2
  fi
}
trap cleanup_on_failure EXIT

debug "formatted after $(elapsed "$start")"
log "starting $KAFKA_NODES node(s) of Kafka $version..."
for i in $(seq 1 "$KAFKA_NODES"); do
  start_node_process "$i"
  started+=("$i")
done
wait_ready "$bootstrap" "$timeout" $(seq 1 "$KAFKA_NODES")
trap - EXIT

for i in $(seq 1 "$KAFKA_NODES"); do
  log "  node $i: broker 127.0.0.1:$(broker_port "$i" "$KAFKA_NODES"), controller 127.0.0.1:$(controller_port "$i" "$KAFKA_NODES"), pid $(node_pid "$i"), logs $(node_dir "$i")/logs"
done
log "Kafka $version ready: $KAFKA_NODES node(s), replication factor $rf, min.insync.replicas $min_isr, started in $(elapsed "$start")"
log "bootstrap servers: $bootstrap   (e.g. LEDGER_KAFKA_BROKERS=$bootstrap; also in $KAFKA_RUN_DIR/bootstrap)"
