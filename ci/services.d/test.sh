#!/usr/bin/env bash
# End-to-end checks that the native services are the real thing (run by `ci/services test`):
#   kafka      a topic is created, 3 messages produced and consumed back (Kafka's own console tools)
#   mariadb    the hive user logs in over TCP with the generated password
#   metastore  the schema version is recorded; the Thrift port answers
#   registry   Apicurio Registry: a schema registered through Confluent's API is served back by its id, and it
#              is kept across a restart of the registry (its storage is a Kafka topic)
#   spark      Spark SQL creates a database and a table through the metastore, inserts rows and reads them
#              back; MariaDB's metastore tables (DBS, TBLS, SDS) show them and where the data is; the data
#              files are in the warehouse; a second Spark session reads exactly the rows written and drops
#              the database, and MariaDB no longer lists it (nor the warehouse its directory)
#
#   test.sh [--hdfs | --local]
#   --hdfs (the default when ci/hdfs is there): the warehouse is hdfs://127.0.0.1:19820/warehouse on the real
#          HDFS of `ci/hdfs up` (started if it is not up, and stopped at the end then); the files are checked
#          on HDFS with Hadoop's FsShell (`ci/hdfs dfs`). The metastore must run with that warehouse (Hive 4
#          puts a managed table where the metastore's warehouse says, whatever Spark's is). If the metastore is
#          already up with another warehouse, it is left alone and the test runs its own set of services
#          instead: run dir <run dir>-hdfs, ports kafka 19192/19193, mariadb 13316, metastore 19183.
#   --local: the warehouse is the metastore's (file://<run dir>/warehouse unless BIGDATA_WAREHOUSE_DIR says).
# Brings up what is not up, and stops at the end what it started (unless BIGDATA_KEEP_SERVICES=1).
# The last line is `N passed, M failed`; the exit status is non-zero if anything failed.
set -euo pipefail
CI="$(cd "$(dirname "$0")/.." && pwd)"
SERVICES="$CI/services"
HDFS="$CI/hdfs"
mode=local
[[ -x $HDFS ]] && mode=hdfs
case ${1:-} in
  "") ;;
  --hdfs) mode=hdfs ;;
  --local) mode=local ;;
  *) echo "usage: ci/services test [--hdfs | --local]" >&2; exit 2 ;;
esac
passed=0
failed=0
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# check (ci/lib.sh): one check; `|| true` after each, as a failed check is counted, not fatal.
# shellcheck source=ci/lib.sh
. "$CI/lib.sh"

# expect WANT CMD...: CMD's standard output must equal WANT.
expect() {
  local want=$1 got
  shift
  got=$("$@") || { echo "command failed: $*"; return 1; }
  [[ $got == "$want" ]] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"; return 1; }
}

hdfs_single_up() {
  local out
  out=$("$HDFS" status 2>/dev/null) || true
  grep -q '^hdfs(single): up' <<<"$out"
}
started_hdfs=0
stop_started() {
  [[ ${BIGDATA_KEEP_SERVICES:-0} == 1 ]] && return 0
  local s started=()
  for s in kafka mariadb metastore registry; do
    grep -qx "$s" <<<"$was_up" || started+=("$s")
  done
  if [[ ${#started[@]} -gt 0 ]]; then "$SERVICES" down "${started[@]}"; fi
  if [[ $started_hdfs == 1 ]]; then "$HDFS" down --single; fi
  return 0
}
trap 'rm -f "$OUT"; stop_started' EXIT
services_up() { "$SERVICES" status 2>/dev/null | awk '$2 == "up" {print $1}' || true; }
was_up=$(services_up)
if [[ $mode == hdfs ]]; then
  if ! hdfs_single_up; then
    out=$("$HDFS" up 2>&1) || { echo "$out"; echo "FAIL ci/hdfs up"; echo "0 passed, 1 failed"; exit 1; }
    echo "$out"
    # Only what this test started is stopped at the end.
    grep -q 'already up' <<<"$out" || started_hdfs=1
  fi
  # The single cluster's URL (ci/hdfs env prints it last when both clusters run).
  hdfs_url=$("$HDFS" env | sed -n 's/^export BIGDATA_HDFS_URL=//p' | tail -n 1)
  export BIGDATA_WAREHOUSE_DIR="$hdfs_url/warehouse"
  running_wh=$("$SERVICES" status 2>/dev/null | awk '$1 == "metastore" && $2 == "up" {print $NF}' || true)
  if [[ -n $running_wh && $running_wh != "$BIGDATA_WAREHOUSE_DIR" ]]; then
    shared_run=$("$SERVICES" env | sed -n 's/^export BIGDATA_SERVICES_RUN=//p')
    echo "note the metastore is up with the warehouse $running_wh (not restarted): this test runs its own" \
      "services in ${shared_run}-hdfs"
    export BIGDATA_SERVICES_RUN="${shared_run}-hdfs" BIGDATA_KAFKA_PORT=19192 BIGDATA_KAFKA_CONTROLLER_PORT=19193 \
      BIGDATA_MARIADB_PORT=13316 BIGDATA_METASTORE_PORT=19183
    was_up=$(services_up)
  fi
fi
if ! "$SERVICES" up; then
  echo "FAIL ci/services up"
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$("$SERVICES" env)"

check "status: every service up" "$SERVICES" status || true
check "env: endpoints exported" test -n "$BIGDATA_KAFKA_BOOTSTRAP" -a -n "$BIGDATA_METASTORE_URI" -a -n "$BIGDATA_MYSQL_PASSWORD" || true
bad_input() {
  local out
  if out=$("$SERVICES" up no-such-service 2>&1); then echo "accepted: $out"; return 1; fi
  grep 'unknown service' <<<"$out"
}
check "bad input: an unknown service name is refused" bad_input || true

# -------------------------------------------------------------------------------------------------- kafka
topic="bigdata-test-$$-$RANDOM"
kafka() { "$SERVICES" kafka "$@"; }
check "kafka: create topic $topic" \
  kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --create --topic "$topic" \
  --partitions 1 --replication-factor 1 || true
produce() { printf 'one\ntwo\nthree\n' | kafka org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --topic "$topic"; }
check "kafka: produce 3 messages" produce || true
consume() {
  kafka org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --topic "$topic" \
    --from-beginning --max-messages 3 --timeout-ms 60000 2>/dev/null
}
check "kafka: consume them back, in order" expect $'one\ntwo\nthree' consume || true

# ------------------------------------------------------------------------------------------------ mariadb
as_hive() {
  MYSQL_PWD=$BIGDATA_MYSQL_PASSWORD mariadb --no-defaults -h "$BIGDATA_MYSQL_HOST" -P "$BIGDATA_MYSQL_PORT" \
    -u "$BIGDATA_MYSQL_USER" -N -B "$BIGDATA_MYSQL_DATABASE" -e "$1"
}
check "mariadb: hive user over TCP with the generated password" expect 1 as_hive 'SELECT 1' || true
wrong_password() { ! MYSQL_PWD=wrong mariadb --no-defaults -h "$BIGDATA_MYSQL_HOST" -P "$BIGDATA_MYSQL_PORT" -u hive -e 'SELECT 1'; }
check "mariadb: a wrong password is refused" wrong_password || true

# ---------------------------------------------------------------------------------------------- metastore
schema() { [[ -n $(as_hive 'SELECT SCHEMA_VERSION FROM VERSION') ]]; }
check "metastore: schema version recorded in MariaDB" schema || true
metastore_port() { local hp=${BIGDATA_METASTORE_URI#thrift://}; (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"); }
check "metastore: Thrift port answers ($BIGDATA_METASTORE_URI)" metastore_port || true
metastore_warehouse() { "$SERVICES" status | awk '$1 == "metastore" {print $NF}'; }
if ! grep -qx metastore <<<"$was_up"; then
  check "metastore: started with the warehouse $BIGDATA_WAREHOUSE_DIR" expect "$BIGDATA_WAREHOUSE_DIR" metastore_warehouse || true
elif [[ $mode == hdfs ]]; then
  check "metastore: its warehouse is $BIGDATA_WAREHOUSE_DIR" expect "$BIGDATA_WAREHOUSE_DIR" metastore_warehouse || true
fi

# -------------------------------------------------------------------------------------------------- spark
# BIGDATA_WAREHOUSE_DIR is the Spark sessions' warehouse (spark.sql.warehouse.dir): new databases go there.
wh=$BIGDATA_WAREHOUSE_DIR
if [[ $mode == hdfs ]]; then
  check "hdfs: the single cluster is up (${hdfs_url})" hdfs_single_up || true
fi
db="bd_test_$$_$RANDOM"
sql_write() {
  "$SERVICES" sql "CREATE DATABASE $db; CREATE TABLE $db.events (id INT, name STRING) USING parquet;
    INSERT INTO $db.events VALUES (1, 'alpha'), (2, 'beta'), (3, NULL); SELECT * FROM $db.events ORDER BY id" 2>/dev/null
}
check "spark: create database+table, insert, select (via metastore)" expect $'1\talpha\n2\tbeta\n3\tNULL' sql_write || true
check "mariadb: metastore DBS lists $db" expect "$db" as_hive "SELECT NAME FROM DBS WHERE NAME = '$db'" || true
check "mariadb: metastore TBLS lists $db.events" expect "events" \
  as_hive "SELECT t.TBL_NAME FROM TBLS t JOIN DBS d ON t.DB_ID = d.DB_ID WHERE d.NAME = '$db'" || true
# Hadoop writes file:///x as file:/x.
loc=$wh
[[ $wh == file://* ]] && loc="file:${wh#file://}"
check "mariadb: DBS/SDS locations are under $wh" expect "$loc/$db.db"$'\n'"$loc/$db.db/events" \
  as_hive "SELECT DB_LOCATION_URI FROM DBS WHERE NAME = '$db' UNION ALL SELECT s.LOCATION FROM SDS s
    JOIN TBLS t ON t.SD_ID = s.SD_ID JOIN DBS d ON t.DB_ID = d.DB_ID WHERE d.NAME = '$db'" || true
parquet_files() {
  local n
  case $wh in
    file://*) n=$(find "${wh#file://}/$db.db/events" -name '*.parquet' | wc -l) ;;
    hdfs://*)
      local ls
      ls=$("$HDFS" dfs -ls -R "$wh/$db.db/events") || { echo "$ls"; return 1; }
      echo "$ls"
      n=$(grep -c '\.parquet$' <<<"$ls" || true) ;;
    *) echo "warehouse $wh: cannot list it: skipped"; return 0 ;;
  esac
  echo "$n parquet files"
  [[ $n -gt 0 ]]
}
if [[ $mode == hdfs ]]; then
  check "hdfs: the table's parquet files are on HDFS (FsShell -ls)" parquet_files || true
  local_copy() { [[ ! -e ${BIGDATA_SERVICES_RUN:?}/warehouse/$db.db ]]; }
  check "hdfs: no copy of $db in the local warehouse" local_copy || true
else
  check "warehouse: the table's parquet files are under $wh" parquet_files || true
fi
sql_read_drop() {
  "$SERVICES" sql "SELECT * FROM $db.events ORDER BY id; SELECT COUNT(*), MAX(name) FROM $db.events;
    DROP DATABASE $db CASCADE" 2>/dev/null
}
check "spark: a new session reads exactly the rows, then drops the database" \
  expect $'1\talpha\n2\tbeta\n3\tNULL\n3\tbeta' sql_read_drop || true
check "mariadb: $db is gone from DBS" expect "" as_hive "SELECT NAME FROM DBS WHERE NAME = '$db'" || true
gone() {
  case $wh in
    file://*) [[ ! -e ${wh#file://}/$db.db ]] ;;
    # FsShell -test -e: 0 if the path exists, 1 if not.
    hdfs://*) local rc=0; "$HDFS" dfs -test -e "$wh/$db.db" || rc=$?; [[ $rc == 1 ]] ;;
    *) return 0 ;;
  esac
}
check "warehouse: $db's directory is gone" gone || true

# the schema registry: Confluent's API (the jobs' --schema-registry)
subject="services-test-$$-value"
registered() {
  local id
  id=$(curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    -d '{"schema": "{\"type\":\"record\",\"name\":\"ServicesTest\",\"fields\":[{\"name\":\"n\",\"type\":\"long\"}]}"}' \
    "$BIGDATA_SCHEMA_REGISTRY_URL/subjects/$subject/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || return 1
  echo "$id" >"$OUT.id"
  curl -fsS "$BIGDATA_SCHEMA_REGISTRY_URL/schemas/ids/$id" | grep -q ServicesTest
}
check "registry: a schema registered under $subject is served back by its id" registered || true
kept() {
  "$SERVICES" down registry >/dev/null && "$SERVICES" up registry >/dev/null 2>&1 || return 1
  curl -fsS "$BIGDATA_SCHEMA_REGISTRY_URL/schemas/ids/$(cat "$OUT.id")" | grep -q ServicesTest \
    && curl -fsS "$BIGDATA_SCHEMA_REGISTRY_URL/subjects" | grep -q "\"$subject\""
}
check "registry: restarted, it still serves it (kept in its Kafka topic)" kept || true
rm -f "$OUT.id"

# Stop what this test started before the summary, so that the summary is the last line.
trap 'rm -f "$OUT"' EXIT
stop_started
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
