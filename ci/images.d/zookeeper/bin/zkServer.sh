#!/bin/bash
# The lab's stand-in for ZooKeeper's bin/zkServer.sh (ci/images.d/zookeeper): `zkServer.sh start-foreground
# [CONFIG]` runs the server (QuorumPeerMain) with $ZOOCFGDIR/zoo.cfg, JVMFLAGS, SERVER_JVMFLAGS, the logback
# configuration of $ZOOCFGDIR; `zkServer.sh version`. The other commands (start, stop, status) of the real
# script manage a background daemon, which a container does not use.
set -eu
home=$(cd "$(dirname "$0")/.." && pwd)
conf_dir=${ZOOCFGDIR:-$home/conf}
case ${1:-} in
  start-foreground) cfg=${2:-$conf_dir/zoo.cfg}; class=org.apache.zookeeper.server.quorum.QuorumPeerMain ;;
  version) cfg=""; class=org.apache.zookeeper.version.VersionInfoMain ;;
  *) echo "zkServer.sh: the lab's stand-in runs only 'start-foreground' and 'version' (asked: '${1:-}')" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086 # JVMFLAGS and SERVER_JVMFLAGS are lists of JVM options, as in the real script
exec java -Dzookeeper.log.dir="${ZOO_LOG_DIR:-$home/logs}" -Dlogback.configurationFile="file:$conf_dir/logback.xml" \
  -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='kill -9 %p' ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} \
  -cp "$home/lib/*:$conf_dir" "$class" ${cfg:+"$cfg"}
