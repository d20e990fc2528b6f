#!/bin/bash
# The lab's stand-in for the zookeeper image's /docker-entrypoint.sh (written here after its documented
# contract): without $ZOO_CONF_DIR/zoo.cfg, write one from the ZOO_* variables (ZOO_DATA_DIR, ZOO_DATA_LOG_DIR,
# ZOO_TICK_TIME, ZOO_INIT_LIMIT, ZOO_SYNC_LIMIT, ZOO_AUTOPURGE_*, ZOO_MAX_CLIENT_CNXNS, ZOO_STANDALONE_ENABLED,
# ZOO_ADMINSERVER_ENABLED, ZOO_4LW_COMMANDS_WHITELIST, ZOO_SERVERS as space-separated server.N=... entries,
# ZOO_CFG_EXTRA as space-separated key=value lines); write $ZOO_DATA_DIR/myid from ZOO_MY_ID (default 1) if
# it is missing; then run the command.
set -euo pipefail
cfg="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f $cfg ]]; then
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=${ZOO_TICK_TIME:-2000}"
    echo "initLimit=${ZOO_INIT_LIMIT:-5}"
    echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
    echo "autopurge.snapRetainCount=${ZOO_AUTOPURGE_SNAPRETAINCOUNT:-3}"
    echo "autopurge.purgeInterval=${ZOO_AUTOPURGE_PURGEINTERVAL:-0}"
    echo "maxClientCnxns=${ZOO_MAX_CLIENT_CNXNS:-60}"
    echo "standaloneEnabled=${ZOO_STANDALONE_ENABLED:-true}"
    echo "admin.enableServer=${ZOO_ADMINSERVER_ENABLED:-true}"
    echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr}"
    if [[ -z ${ZOO_SERVERS:-} ]]; then
      echo "server.1=localhost:2888:3888;2181"
    else
      for server in $ZOO_SERVERS; do echo "$server"; done
    fi
    for extra in ${ZOO_CFG_EXTRA:-}; do echo "$extra"; done
  } >"$cfg"
fi
mkdir -p "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR"
[[ -f $ZOO_DATA_DIR/myid ]] || echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
exec "$@"
