# shellcheck shell=bash disable=SC2034
# Shared by the infra/kafka/*.sh scripts (sourced, never run). Paths resolve relative to this folder, so the
# scripts work from any cwd.
#
# Environment (all optional):
#   KAFKA_LIB_DIR        where resolve.sh puts the jars            (default infra/kafka/.lib)
#   KAFKA_RUN_DIR        configs, data, logs and pids of a cluster (default infra/kafka/.run)
#   KAFKA_NODES          nodes kafka-up.sh starts, 1..5            (default 1)
#   KAFKA_PORT_BASE      broker port of a 1-node cluster; node i of N has i*10000+base (default 9092)
#   KAFKA_READY_TIMEOUT  seconds to wait for a started cluster     (default 60)
#   KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL       (default 10 in kafka-down.sh, 20 in kafka-kill-node.sh --graceful)
#   KAFKA_HEAP_OPTS      heap flags of each node                   (default -Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS       other JVM flags of each node              (default: serial GC, C1 JIT; see below)
#   KAFKA_LOG_LEVEL      log level of the nodes' server.log        (default INFO)
#   KAFKA_DEBUG=1        timestamps of each startup step and readiness probe on stderr
#   JAVA_HOME            the JDK to use (else `java` on PATH); Kafka 4 needs Java 17+

KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_LIB_DIR="${KAFKA_LIB_DIR:-$KAFKA_DIR/.lib}"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$KAFKA_DIR/.run}"
KAFKA_CP="$KAFKA_LIB_DIR/jars/*"

# The exact classes, for the 4.x layout (the Scala tools of 3.x moved to org.apache.kafka.tools).
KAFKA_MAIN_CLASS=kafka.Kafka
KAFKA_STORAGE_TOOL=kafka.tools.StorageTool
KAFKA_BROKER_API_VERSIONS=org.apache.kafka.tools.BrokerApiVersionsCommand

# Serial GC: 3 nodes share 2 cores, and a 512 MiB heap needs no parallel collector. C1 only
# (TieredStopAtLevel=1), measured here: a node starts in ~3.7 s instead of ~7 s, and producer-perf-test
# (1M x 200 B, acks=all, idempotent) ran at 99-107k records/s against it vs 51-82k with C2 on, whose
# compiler threads compete for the 2 cores. For a long benchmark try KAFKA_JVM_OPTS without it.
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
# Short-lived tool JVMs (format, readiness probe, console tools): start fast, little heap.
KAFKA_TOOL_JVM_OPTS="${KAFKA_TOOL_JVM_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"

log() { printf 'kafka: %s\n' "$*"; }
debug() { if [[ "${KAFKA_DEBUG:-0}" == 1 ]]; then printf 'kafka: [debug %s] %s\n' "$(date +%T.%3N)" "$*" >&2; fi; }
die() {
  printf 'kafka: error: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

# A cluster id is 16 random bytes in URL-safe base64 without padding, drawn again when it begins with "-" (the
# storage tool would read it as an option: "--cluster-id/-t: expected one argument", one start in 64) or is
# the reserved all-zero id, as Kafka's own Uuid.randomUuid() (`kafka-storage random-uuid`) does.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    if [[ "$id" != -* && "$id" != AAAAAAAAAAAAAAAAAAAAAA ]]; then
      printf '%s' "$id"
      return
    fi
  done
}
elapsed() { # elapsed START_MS → "12.3s"
  local d=$(($(now_ms) - $1))
  printf '%d.%ds' $((d / 1000)) $(((d % 1000) / 100))
}

find_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA="$(command -v java)"
  else
    die "java not found (neither \$JAVA_HOME/bin/java nor java on PATH): install a JDK 17+, e.g. apt-get install -y openjdk-17-jdk-headless"
  fi
  local line major
  line="$("$JAVA" -version 2>&1 | head -n 1)" || die "$JAVA -version failed: $line"
  major="$(sed -E 's/.*version "([0-9]+)(\.[0-9]+)?.*/\1/' <<<"$line")"
  if [[ "$major" == 1 ]]; then major=8; fi
  [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] || die "Kafka 4.x needs Java 17 or newer; $JAVA is: $line"
}

# resolve.sh when the jars are missing or stale (it is a no-op when the stamp matches pom.xml).
ensure_resolved() {
  "$KAFKA_DIR/resolve.sh"
}

# Runs a Kafka class as a short-lived tool JVM: warnings to stderr, output on stdout. Needs find_java.
kafka_tool() {
  # shellcheck disable=SC2086
  "$JAVA" $KAFKA_TOOL_JVM_OPTS -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_CP" "$@"
}

# Ports: one node → broker 9092, controller 9093; N nodes → node i has broker i9092 and controller i9093
# (with KAFKA_PORT_BASE=9192: 9192/9193, i9192/i9193). broker_port NODE NODES
KAFKA_PORT_BASE="${KAFKA_PORT_BASE:-9092}"
broker_port() { if (($2 == 1)); then echo "$KAFKA_PORT_BASE"; else echo $(($1 * 10000 + KAFKA_PORT_BASE)); fi; }
controller_port() { echo $(($(broker_port "$1" "$2") + 1)); }

node_dir() { echo "$KAFKA_RUN_DIR/node-$1"; }

# Deletes the run dir, but only one that is empty or was made by kafka-up.sh (a mistyped KAFKA_RUN_DIR
# must never wipe anything else).
remove_run_dir() {
  [[ -e "$KAFKA_RUN_DIR" ]] || return 0
  if [[ -f "$KAFKA_RUN_DIR/cluster.env" || -z "$(ls -A "$KAFKA_RUN_DIR")" ]]; then
    rm -rf "$KAFKA_RUN_DIR"
  else
    die "refusing to delete $KAFKA_RUN_DIR: it is not empty and has no cluster.env (not a Kafka run dir of ours)"
  fi
}

# Loads the cluster written by kafka-up.sh: KAFKA_NODES, KAFKA_PORT_BASE, CLUSTER_ID, BOOTSTRAP.
load_cluster() {
  [[ -f "$KAFKA_RUN_DIR/cluster.env" ]] || die "no cluster in $KAFKA_RUN_DIR (start one with make kafka-up)"
  # shellcheck disable=SC1091
  source "$KAFKA_RUN_DIR/cluster.env"
}

# The pid of node $1 if that process is alive and really is that node (not a recycled pid), else nothing.
node_pid() {
  local pidfile pid
  pidfile="$(node_dir "$1")/pid"
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$(node_dir "$1")/server.properties"; then
    echo "$pid"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# What listens on TCP port $1, with the holder's command line (empty when nothing does).
port_holder() {
  if command -v ss >/dev/null 2>&1; then
    local line pid
    line="$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1)"
    [[ -n "$line" ]] || return 0
    pid="$(sed -nE 's/.*pid=([0-9]+).*/\1/p' <<<"$line")"
    if [[ -n "$pid" ]]; then
      echo "pid $pid: $(ps -o args= -p "$pid" 2>/dev/null | cut -c1-300)"
    else
      echo "$line"
    fi
  elif port_open "$1"; then
    echo "(something accepts connections on 127.0.0.1:$1; install iproute2 for ss to see what)"
  fi
}

tail_node_logs() { # tail_node_logs N [LINES]
  local dir n="${2:-40}"
  dir="$(node_dir "$1")"
  for f in "$dir/logs/kafka.out" "$dir/logs/server.log"; do
    if [[ -s "$f" ]]; then
      printf -- '----- node %s: last %s lines of %s -----\n' "$1" "$n" "$f" >&2
      tail -n "$n" "$f" >&2
    fi
  done
}

# Starts node $1 in the background from its server.properties, in its own session (so it outlives the
# shell or make that started it), with its pid in node-$1/pid.
start_node_process() {
  local dir
  dir="$(node_dir "$1")"
  mkdir -p "$dir/logs"
  rm -f "$dir/pid"
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/pid" \
    "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_OPTS \
    -Dkafka.logs.dir="$dir/logs" -Dkafka.log.level="${KAFKA_LOG_LEVEL:-INFO}" \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_CP" "$KAFKA_MAIN_CLASS" "$dir/server.properties" \
    >>"$dir/logs/kafka.out" 2>&1 </dev/null &
  for _ in $(seq 1 50); do
    [[ -s "$dir/pid" ]] && return 0
    sleep 0.1
  done
  die "node $1 did not start (no pid file $dir/pid)"
}

# Broker ids that the cluster reports as registered, unfenced and reachable: Kafka's own
# kafka-broker-api-versions tool prints one "host:port (id: N rack: null isFenced: false) -> (" block per
# broker in the cluster's metadata.
live_broker_ids() {
  # shellcheck disable=SC2086
  timeout 20 "$JAVA" $KAFKA_TOOL_JVM_OPTS -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_CP" "$KAFKA_BROKER_API_VERSIONS" --bootstrap-server "$1" 2>/dev/null |
    grep -v 'isFenced: true' |
    sed -nE 's/.*\(id: ([0-9]+) rack:.*/\1/p' | sort -un | tr '\n' ' ' | sed 's/ $//' || true
}

# Waits until node(s) $3.. are alive with their broker port open and the cluster lists every one of
# them; $1 = bootstrap servers, $2 = timeout in seconds. On failure: which node, and the tail of its log.
wait_ready() {
  local bootstrap="$1" timeout="$2"
  shift 2
  local nodes=("$@") deadline=$(($(date +%s) + timeout)) ids="" n want
  want="$(printf '%s\n' "${nodes[@]}" | sort -un | tr '\n' ' ' | sed 's/ $//')"
  while :; do
    for n in "${nodes[@]}"; do
      if [[ -z "$(node_pid "$n")" ]]; then
        tail_node_logs "$n" 60
        die "node $n exited during startup (logs above; full logs in $(node_dir "$n")/logs)"
      fi
    done
    local all_open=1
    for n in "${nodes[@]}"; do
      port_open "$(broker_port "$n" "$KAFKA_NODES")" || all_open=0
    done
    if ((all_open)); then
      local probe_start
      probe_start="$(now_ms)"
      ids="$(live_broker_ids "$bootstrap")"
      debug "ports open; probe took $(elapsed "$probe_start"), cluster lists brokers [$ids]"
      # every wanted id must be in the list the cluster reports
      local missing=0 w
      for w in $want; do [[ " $ids " == *" $w "* ]] || missing=1; done
      ((missing)) || return 0
    fi
    if (($(date +%s) >= deadline)); then
      for n in "${nodes[@]}"; do tail_node_logs "$n" 40; done
      die "cluster not ready after ${timeout}s: wanted brokers [$want], the cluster reports [${ids}] (logs above; full logs under $KAFKA_RUN_DIR/node-*/logs)"
    fi
    sleep 0.5
  done
}
