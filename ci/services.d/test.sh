#!/usr/bin/env bash
# End-to-end checks that the native services are the real thing (run by `ci/services test`):
#   kafka      a topic is created, 3 messages produced and consumed back (Kafka's own console tools)
#   mariadb    the hive user logs in over TCP with the generated password
#   metastore  the schema version is recorded; the Thrift port answers
#   spark      Spark SQL creates a database and a table through the metastore, inserts rows and reads them
#              back; MariaDB's metastore tables (DBS, TBLS) show them; the data files are in the warehouse;
#              a second Spark session sees the table and drops it, and MariaDB no longer lists it
# Brings up what is not up, and stops at the end what it started (unless BIGDATA_KEEP_SERVICES=1).
# The last line is `N passed, M failed`; the exit status is non-zero if anything failed.
set -euo pipefail
SERVICES="$(cd "$(dirname "$0")/.." && pwd)/services"
passed=0
failed=0
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# check NAME CMD...: run CMD; it passes when it exits 0. Its output is shown when it fails.
check() {
  local name=$1 start=$SECONDS
  shift
  if "$@" >"$OUT" 2>&1; then
    passed=$((passed + 1))
    printf 'ok   %-58s %3ss\n' "$name" "$((SECONDS - start))"
  else
    failed=$((failed + 1))
    printf 'FAIL %-58s %3ss\n' "$name" "$((SECONDS - start))"
    sed -e 's/^/     | /' "$OUT" | tail -n 25
  fi
}

# expect WANT CMD...: CMD's standard output must equal WANT.
expect() {
  local want=$1 got
  shift
  got=$("$@") || { echo "command failed: $*"; return 1; }
  [[ $got == "$want" ]] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"; return 1; }
}

was_up=$("$SERVICES" status 2>/dev/null | awk '$2 == "up" {print $1}' || true)
if ! "$SERVICES" up; then
  echo "FAIL ci/services up"
  echo "0 passed, 1 failed"
  exit 1
fi
stop_started() {
  [[ ${BIGDATA_KEEP_SERVICES:-0} == 1 ]] && return 0
  local s started=()
  for s in kafka mariadb metastore; do
    grep -qx "$s" <<<"$was_up" || started+=("$s")
  done
  if [[ ${#started[@]} -gt 0 ]]; then "$SERVICES" down "${started[@]}"; fi
}
trap 'rm -f "$OUT"; stop_started' EXIT
eval "$("$SERVICES" env)"

check "status: every service up" "$SERVICES" status
check "env: endpoints exported" test -n "$BIGDATA_KAFKA_BOOTSTRAP" -a -n "$BIGDATA_METASTORE_URI" -a -n "$BIGDATA_MYSQL_PASSWORD"
bad_input() {
  local out
  if out=$("$SERVICES" up no-such-service 2>&1); then echo "accepted: $out"; return 1; fi
  grep 'unknown service' <<<"$out"
}
check "bad input: an unknown service name is refused" bad_input

# -------------------------------------------------------------------------------------------------- kafka
topic="bigdata-test-$$-$RANDOM"
kafka() { "$SERVICES" kafka "$@"; }
check "kafka: create topic $topic" \
  kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --create --topic "$topic" \
  --partitions 1 --replication-factor 1
produce() { printf 'one\ntwo\nthree\n' | kafka org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --topic "$topic"; }
check "kafka: produce 3 messages" produce
consume() {
  kafka org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" --topic "$topic" \
    --from-beginning --max-messages 3 --timeout-ms 60000 2>/dev/null
}
check "kafka: consume them back, in order" expect $'one\ntwo\nthree' consume

# ------------------------------------------------------------------------------------------------ mariadb
as_hive() {
  MYSQL_PWD=$BIGDATA_MYSQL_PASSWORD mariadb --no-defaults -h "$BIGDATA_MYSQL_HOST" -P "$BIGDATA_MYSQL_PORT" \
    -u "$BIGDATA_MYSQL_USER" -N -B "$BIGDATA_MYSQL_DATABASE" -e "$1"
}
check "mariadb: hive user over TCP with the generated password" expect 1 as_hive 'SELECT 1'
wrong_password() { ! MYSQL_PWD=wrong mariadb --no-defaults -h "$BIGDATA_MYSQL_HOST" -P "$BIGDATA_MYSQL_PORT" -u hive -e 'SELECT 1'; }
check "mariadb: a wrong password is refused" wrong_password

# ---------------------------------------------------------------------------------------------- metastore
schema() { [[ -n $(as_hive 'SELECT SCHEMA_VERSION FROM VERSION') ]]; }
check "metastore: schema version recorded in MariaDB" schema
metastore_port() { local hp=${BIGDATA_METASTORE_URI#thrift://}; (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"); }
check "metastore: Thrift port answers ($BIGDATA_METASTORE_URI)" metastore_port

# -------------------------------------------------------------------------------------------------- spark
db="bd_test_$$_$RANDOM"
sql_write() {
  "$SERVICES" sql "CREATE DATABASE $db; CREATE TABLE $db.events (id INT, name STRING) USING parquet;
    INSERT INTO $db.events VALUES (1, 'alpha'), (2, 'beta'), (3, NULL); SELECT * FROM $db.events ORDER BY id" 2>/dev/null
}
check "spark: create database+table, insert, select (via metastore)" expect $'1\talpha\n2\tbeta\n3\tNULL' sql_write
check "mariadb: metastore DBS lists $db" expect "$db" as_hive "SELECT NAME FROM DBS WHERE NAME = '$db'"
check "mariadb: metastore TBLS lists $db.events" expect "events" \
  as_hive "SELECT t.TBL_NAME FROM TBLS t JOIN DBS d ON t.DB_ID = d.DB_ID WHERE d.NAME = '$db'"
parquet_files() {
  [[ $BIGDATA_WAREHOUSE_DIR == file://* ]] || { echo "warehouse is not local: skipped"; return 0; }
  local n
  n=$(find "${BIGDATA_WAREHOUSE_DIR#file://}/$db.db/events" -name '*.parquet' | wc -l)
  echo "$n parquet files"
  [[ $n -gt 0 ]]
}
check "warehouse: the table's parquet files are under $BIGDATA_WAREHOUSE_DIR" parquet_files
sql_read_drop() { "$SERVICES" sql "SELECT COUNT(*), MAX(name) FROM $db.events; DROP DATABASE $db CASCADE" 2>/dev/null; }
check "spark: a new session reads the table, then drops the database" expect $'3\tbeta' sql_read_drop
check "mariadb: $db is gone from DBS" expect "" as_hive "SELECT NAME FROM DBS WHERE NAME = '$db'"

# Stop what this test started before the summary, so that the summary is the last line.
trap 'rm -f "$OUT"' EXIT
stop_started
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
