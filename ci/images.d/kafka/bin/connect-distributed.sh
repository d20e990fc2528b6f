#!/bin/bash
# The lab's stand-in for the Kafka distribution's bin/connect-distributed.sh: Kafka Connect in distributed mode
# (org.apache.kafka.connect.cli.ConnectDistributed) with the worker properties file given, logging INFO to the
# console (the distribution's connect-log4j2.yaml also writes connect.log in LOG_DIR).
set -eu
[[ $# -ge 1 ]] || { echo "usage: connect-distributed.sh connect-distributed.properties" >&2; exit 1; }
base=$(cd "$(dirname "$0")/.." && pwd)
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/log4j2.properties}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256M -Xmx2G}
exec "$base/bin/kafka-run-class.sh" org.apache.kafka.connect.cli.ConnectDistributed "$@"
