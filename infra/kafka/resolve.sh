#!/usr/bin/env bash
# Resolves Kafka (infra/kafka/pom.xml) from Maven Central with Maven and copies the jars with their runtime
# dependencies into $KAFKA_LIB_DIR/jars (default infra/kafka/.lib/jars). Idempotent: when the stamp in
# $KAFKA_LIB_DIR matches pom.xml's hash it does nothing. KAFKA_RESOLVE_FORCE=1 resolves again anyway.
# Extra Maven flags (e.g. -o for offline, -Dmaven.repo.local=...) go in KAFKA_MVN_ARGS.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

pom="$KAFKA_DIR/pom.xml"
[[ -f "$pom" ]] || die "missing $pom"
# The stamp covers the pom and the layout this script writes (bump "layout-1" if that changes).
want="$( (cat "$pom" && echo "layout-1") | sha256sum | cut -d' ' -f1)"
stamp="$KAFKA_LIB_DIR/.stamp"
version="$(sed -nE 's|.*<kafka.version>([^<]+)</kafka.version>.*|\1|p' "$pom" | head -n 1)"

if [[ "${KAFKA_RESOLVE_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "Kafka $version already resolved in $KAFKA_LIB_DIR ($(find "$KAFKA_LIB_DIR/jars" -name '*.jar' | wc -l) jars)"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven 3.6+ (apt-get install -y maven)"
mkdir -p "$KAFKA_LIB_DIR"
# One resolve at a time (parallel make, two terminals).
exec 9>"$KAFKA_LIB_DIR/.lock"
flock 9
if [[ "${KAFKA_RESOLVE_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "Kafka $version already resolved in $KAFKA_LIB_DIR (by a concurrent resolve)"
  exit 0
fi

start="$(now_ms)"
log "resolving org.apache.kafka:kafka_2.13:$version and its runtime dependencies with Maven (~45 MB from Maven Central unless already in the local Maven repository)..."
rm -rf "$KAFKA_LIB_DIR"/.tmp.*
tmp="$(mktemp -d "$KAFKA_LIB_DIR/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvnlog="$tmp/mvn.log"
# shellcheck disable=SC2086
if ! mvn -B -ntp -f "$pom" ${KAFKA_MVN_ARGS:-} dependency:copy-dependencies \
  -DoutputDirectory="$tmp/jars" -DincludeScope=runtime -Dmdep.prependGroupId=true >"$mvnlog" 2>&1; then
  grep -E 'ERROR|FATAL|Could not' "$mvnlog" | head -n 30 >&2 || tail -n 30 "$mvnlog" >&2
  die "Maven could not resolve Kafka $version (above; is Maven Central reachable? full log: rerun with KAFKA_MVN_ARGS=-X)"
fi
n="$(find "$tmp/jars" -name '*.jar' | wc -l)"
[[ "$n" -gt 0 && -f "$tmp/jars/org.apache.kafka.kafka_2.13-$version.jar" ]] ||
  die "Maven succeeded but $tmp/jars lacks org.apache.kafka.kafka_2.13-$version.jar"
# Swap in the finished jars folder whole, stamp last: an interrupted resolve never leaves a stamped,
# half-filled one.
rm -f "$stamp"
rm -rf "$KAFKA_LIB_DIR/jars"
mv "$tmp/jars" "$KAFKA_LIB_DIR/jars"
echo "$version" >"$KAFKA_LIB_DIR/version"
echo "$want" >"$stamp"
log "resolved Kafka $version: $n jars ($(du -sh "$KAFKA_LIB_DIR" | cut -f1)) in $KAFKA_LIB_DIR, took $(elapsed "$start")"
