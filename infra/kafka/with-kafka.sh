#!/usr/bin/env bash
# Runs a command with a local Kafka it starts first and always stops afterwards, on failure too:
#   infra/kafka/with-kafka.sh npx jest
# The command sees LEDGER_TEST_KAFKA_BROKERS. If LEDGER_TEST_KAFKA_BROKERS is already set, that Kafka is
# used as it is and nothing is started or stopped. KAFKA_NODES (default 1) and KAFKA_RUN_DIR (default
# .tmp/kafka-test) are passed to kafka-up.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -n "${LEDGER_TEST_KAFKA_BROKERS:-}" ]]; then
  echo "kafka: using the running Kafka at $LEDGER_TEST_KAFKA_BROKERS"
  exec "$@"
fi

export KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$root/.tmp/kafka-test}"
export KAFKA_NODES="${KAFKA_NODES:-1}"
# Off the default ports, so a `make kafka-up` Kafka on 9092 does not clash with the tests' own.
export KAFKA_PORT_BASE="${KAFKA_PORT_BASE:-9192}"
export KAFKA_READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-120}"
stop() {
  local status=$?
  "$here/kafka-down.sh" >/dev/null 2>&1 || echo "kafka: stopping the test Kafka failed; see $KAFKA_RUN_DIR" >&2
  exit "$status"
}
trap stop EXIT INT TERM
"$here/kafka-up.sh"
LEDGER_TEST_KAFKA_BROKERS="$(cat "$KAFKA_RUN_DIR/bootstrap")"
export LEDGER_TEST_KAFKA_BROKERS
"$@"
