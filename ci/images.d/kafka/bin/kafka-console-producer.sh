#!/bin/bash
# The lab's stand-in for bin/kafka-console-producer.sh: the same main class as the Kafka distribution's script.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.ConsoleProducer "$@"
