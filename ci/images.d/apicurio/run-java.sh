#!/bin/sh
# The part of the UBI OpenJDK images' run-java.sh that Apicurio Registry's image uses: run $JAVA_APP_JAR with
# $JAVA_OPTS and $JAVA_OPTS_APPEND (split on spaces, as run-java.sh does). Also ci/fidelity's way to start the
# registry natively with the kafka chart's rendered environment.
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} ${JAVA_OPTS_APPEND:-} -jar "${JAVA_APP_JAR:?JAVA_APP_JAR is not set}" "$@"
