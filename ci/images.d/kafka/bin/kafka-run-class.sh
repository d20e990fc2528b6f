#!/bin/bash
# The lab's stand-in for the Kafka distribution's bin/kafka-run-class.sh (in the apache/kafka image): runs a main
# class from /opt/kafka/libs (Kafka's jars from Maven Central), with the environment the real script reads:
# KAFKA_HEAP_OPTS (default -Xmx256M), KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS, LOG_DIR.
set -eu
[[ $# -ge 1 ]] || { echo "usage: kafka-run-class.sh CLASS [ARGS...]" >&2; exit 1; }
class=$1; shift
base=$(cd "$(dirname "$0")/.." && pwd)
log_dir=${LOG_DIR:-$base/logs}
mkdir -p "$log_dir"
# the daemon logs INFO to the console, the tools WARN (as the distribution's log4j2.yaml and tools-log4j2.yaml)
if [[ -z ${KAFKA_LOG4J_OPTS:-} ]]; then
  cfg=$base/config/tools-log4j2.properties
  [[ $class == kafka.Kafka ]] && cfg=$base/config/log4j2.properties
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$cfg"
fi
perf=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
# shellcheck disable=SC2086 # the *_OPTS are lists of JVM options, split on spaces as the real script does
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} $perf -Dkafka.logs.dir="$log_dir" $KAFKA_LOG4J_OPTS ${KAFKA_OPTS:-} \
  -cp "$base/libs/*" "$class" "$@"
