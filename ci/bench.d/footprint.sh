#!/usr/bin/env bash
# The memory footprint of the native services (ci/services, ci/hdfs): the resident set size (RSS) of each
# service's process tree, read from /proc, and its peak (VmHWM, the high-water mark of the main process).
# Used by ci/bench.d/batch.sh (a table in docs/benchmarks/batch.md and docs/benchmarks.md "Footprint").
#
#   footprint.sh [--up] [OUT_TSV]
#     --up     first start what is down: Kafka, MariaDB, the metastore (ci/services up) and the HDFS of the
#              tests (ci/hdfs up), wait BIGDATA_FOOTPRINT_SETTLE seconds (20) for their start-up to finish,
#              and leave them up
#     OUT_TSV  also write the rows there: name, pid, rss_kb, hwm_kb, note
#
# Measured: kafka (broker and KRaft controller, one JVM), mariadb (mariadbd), metastore (the Hive metastore
# JVM), hdfs (ci/hdfs's MiniDFS JVM: NameNode and 3 DataNodes), hdfs-ha (if up), and the batch benchmark's own
# MiniDFS JVM (bench-hdfs, if up: it has served the benchmark's reads).
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/../lib.sh"
# The HDFS instance of the tests, whatever the caller's environment (batch.sh points these at its own).
unset BIGDATA_HDFS_PORT BIGDATA_HDFS_RUN
SVC_RUN=${BIGDATA_SERVICES_RUN:-$BIGDATA_CACHE/services/run}
HDFS_RUN="$BIGDATA_CACHE/hdfs/run"
BENCH_HDFS_RUN=${BIGDATA_BENCH_HDFS_RUN:-$BIGDATA_CACHE/bench/batch/hdfs}
SETTLE=${BIGDATA_FOOTPRINT_SETTLE:-20}

up=0 out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --up) up=1; shift ;;
    -*) die "usage: footprint.sh [--up] [OUT_TSV]" ;;
    *) out=$1; shift ;;
  esac
done

# The pid in FILE if that process is alive.
pid_of() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# PID and its descendants.
tree() {
  local c
  echo "$1"
  # shellcheck disable=SC2013 # the children files are lists of pids separated by spaces
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

declare -A started=()
if ((up)); then
  for s in kafka mariadb metastore; do
    pid_of "$SVC_RUN/$s/$s.pid" >/dev/null || started[$s]=1
  done
  pid_of "$HDFS_RUN/single/hdfs.pid" >/dev/null || started[hdfs]=1
  "$CI_DIR/services" up kafka mariadb metastore || log "footprint: ci/services up failed; measuring what is up"
  "$CI_DIR/hdfs" up || log "footprint: ci/hdfs up failed; measuring what is up"
  if ((${#started[@]})); then
    log "footprint: started ${!started[*]}; waiting ${SETTLE}s for their start-up to finish"
    sleep "$SETTLE"
  fi
fi

rows=()
measure() {
  local name=$1 file=$2 note=$3 pid p rss=0 r hwm
  pid=$(pid_of "$file") || return 0
  for p in $(tree "$pid"); do
    r=$(status_kb "$p" VmRSS)
    rss=$((rss + ${r:-0}))
  done
  hwm=$(status_kb "$pid" VmHWM)
  if [[ -n ${started[$name]:-} ]]; then
    note="started by footprint.sh, idle; $note"
  elif [[ $name != bench-hdfs ]]; then
    note="already up (maybe in use by other work); $note"
  fi
  rows+=("$name"$'\t'"$pid"$'\t'"$rss"$'\t'"${hwm:-0}"$'\t'"$note")
}
measure kafka "$SVC_RUN/kafka/kafka.pid" "broker + KRaft controller, -Xms256m -Xmx1g"
measure mariadb "$SVC_RUN/mariadb/mariadb.pid" "innodb buffer pool 64M"
measure metastore "$SVC_RUN/metastore/metastore.pid" "Hive 4 metastore, -Xms256m -Xmx1g"
measure hdfs "$HDFS_RUN/single/hdfs.pid" "NameNode + 3 DataNodes in one JVM, -Xmx1g"
measure hdfs-ha "$HDFS_RUN/ha/hdfs.pid" "2 NameNodes + 3 DataNodes + JournalNodes in one JVM, -Xmx1g"
measure bench-hdfs "$BENCH_HDFS_RUN/single/hdfs.pid" "the batch benchmark's MiniDFS, after its reads"

printf '%-11s %8s %10s %10s  %s\n' service pid "RSS MiB" "peak MiB" note
for row in "${rows[@]}"; do
  IFS=$'\t' read -r name pid rss hwm note <<<"$row"
  printf '%-11s %8s %10d %10d  %s\n' "$name" "$pid" $(((rss + 512) / 1024)) $(((hwm + 512) / 1024)) "$note"
done
if [[ -n $out ]]; then
  : >"$out"
  for row in "${rows[@]}"; do echo "$row" >>"$out"; done
fi
