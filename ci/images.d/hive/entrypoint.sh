#!/bin/bash
# The lab's stand-in for the apache/hive image's /entrypoint.sh (written here after its documented contract):
# SERVICE_NAME (metastore), DB_DRIVER (default derby), IS_RESUME=true skips the schema initialization,
# SERVICE_OPTS are added to the JVM options (HADOOP_CLIENT_OPTS), METASTORE_PORT defaults to 9083.
set -euo pipefail
: "${DB_DRIVER:=derby}"
export HIVE_CONF_DIR=${HIVE_CONF_DIR:-$HIVE_HOME/conf}
export HADOOP_CLIENT_OPTS="${HADOOP_CLIENT_OPTS:-} -Xmx1G ${SERVICE_OPTS:-}"
if [[ ${IS_RESUME:-false} != true ]]; then
  "$HIVE_HOME/bin/schematool" -dbType "$DB_DRIVER" -initOrUpgradeSchema || {
    echo "schema initialization failed (set IS_RESUME=true to skip it)" >&2; exit 1; }
fi
[[ ${SERVICE_NAME:-} == metastore ]] && export METASTORE_PORT=${METASTORE_PORT:-9083}
exec "$HIVE_HOME/bin/hive" --skiphadoopversion --skiphbasecp --service "${SERVICE_NAME:-}"
