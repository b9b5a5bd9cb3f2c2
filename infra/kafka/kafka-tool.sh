#!/usr/bin/env bash
# Runs one of Kafka's own command-line tools from the resolved classpath (what bin/kafka-*.sh do in the
# Kafka tarball), with warnings on stderr. Usage:
#   kafka-tool.sh TOOL [ARGS...]      TOOL is a short name below or a fully qualified class name
#   kafka-tool.sh bootstrap           prints the running cluster's bootstrap servers
# e.g.
#   kafka-tool.sh topics --bootstrap-server "$(kafka-tool.sh bootstrap)" --create --topic t --partitions 3
#   kafka-tool.sh producer-perf-test --topic t --num-records 100000 --record-size 200 --throughput -1 \
#     --producer-props bootstrap.servers=127.0.0.1:9092 acks=all
# JVM flags: KAFKA_TOOL_JVM_OPTS (default: small heap, C1 only; for a throughput test of the tool itself
# pass e.g. KAFKA_TOOL_JVM_OPTS=-Xmx1g).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() {
  cat >&2 <<'EOF'
usage: kafka-tool.sh TOOL [ARGS...]   (or: kafka-tool.sh bootstrap)
TOOL: topics | console-producer | console-consumer | consumer-groups | producer-perf-test |
      consumer-perf-test | metadata-quorum | broker-api-versions | cluster | configs | storage |
      a fully qualified class name
EOF
  exit 2
}
(($#)) || usage
tool="$1"
shift
case "$tool" in
  bootstrap)
    load_cluster
    # shellcheck disable=SC2153 # BOOTSTRAP comes from cluster.env
    echo "$BOOTSTRAP"
    exit 0
    ;;
  topics) cls=org.apache.kafka.tools.TopicCommand ;;
  console-producer) cls=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups) cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  producer-perf-test) cls=org.apache.kafka.tools.ProducerPerformance ;;
  consumer-perf-test) cls=org.apache.kafka.tools.ConsumerPerformance ;;
  metadata-quorum) cls=org.apache.kafka.tools.MetadataQuorumCommand ;;
  broker-api-versions) cls="$KAFKA_BROKER_API_VERSIONS" ;;
  cluster) cls=org.apache.kafka.tools.ClusterTool ;;
  configs) cls=kafka.admin.ConfigCommand ;;
  storage) cls="$KAFKA_STORAGE_TOOL" ;;
  -h | --help | help) usage ;;
  *.*) cls="$tool" ;;
  *) usage ;;
esac

find_java
ensure_resolved >/dev/null
# shellcheck disable=SC2086
exec "$JAVA" $KAFKA_TOOL_JVM_OPTS -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
  -cp "$KAFKA_CP" "$cls" "$@"
