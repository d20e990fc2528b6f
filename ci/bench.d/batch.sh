#!/usr/bin/env bash
# The batch benchmark (issue 7): `bigdata-jobs wordcount` (release build) side by side with Hadoop MapReduce's
# WordCount example (hadoop-mapreduce-examples, the LOCAL job runner: mapreduce.framework.name=local) and a
# Spark WordCount in local mode (local[2], ci/bench.d/batch/BenchSparkWordCount.java), on the same generated
# text on the same native HDFS (ci/hdfs), plus the physical limit: the raw hdfs-native read of the same
# byte ranges with no processing (jobs/examples/hdfs_read.rs). Each is run as one process under
# /usr/bin/time: wall time (process start to exit, JVM start included), CPU time and peak RSS. Before any
# number is kept, the three outputs are checked to be the same word counts (sorted `word<TAB>count` lines).
#
#   ci/bench batch [--sizes 256M,1G,4G] [--runs N] [--seed N] [--peers raw,rust,spark,mapreduce] [--out DIR]
#                  [--no-footprint]
#                          measure (RUNS rounds per size, 1 by default; the report takes medians), then write
#                          docs/benchmarks/batch.{md,svg} (or into --out DIR; ci/bench.d/report_batch.py) with,
#                          unless --no-footprint, the RSS of the native services (ci/bench.d/footprint.sh --up:
#                          starts Kafka, MariaDB, the metastore and ci/hdfs if they are down, and leaves them up).
#                          On 2 cores the default sizes take about 15 minutes, 7 of them MapReduce at 4 GiB.
#   ci/bench smoke         (batch.sh smoke) one 8 MiB input, each peer once with the debug build; checks that
#                          the outputs agree with each other and with awk, and that the numbers are positive;
#                          writes nothing into docs/
#   batch.sh down          stop the benchmark's HDFS (its cached inputs go with it)
#
# HDFS: a MiniDFS cluster of its own (ci/hdfs with BIGDATA_HDFS_PORT=19830 and BIGDATA_HDFS_RUN=
# $BIGDATA_CACHE/bench/batch/hdfs; override with BIGDATA_BENCH_HDFS_PORT / BIGDATA_BENCH_HDFS_RUN), NameNode and
# 3 DataNodes in one JVM, so that ci/test's `ci/hdfs down` cannot take it (and the cached inputs) away mid-run.
# It is left up. Inputs (jobs/examples/batch_text.rs: deterministic, lowercase ASCII, Zipf over 100,000 words,
# replication 1, 128 MiB blocks) are generated once per size, seed and generator version and kept on it:
# hdfs://127.0.0.1:19830/bench/batch/input/text-<bytes>-s<seed>-<generator hash>.txt. Jars (Maven Central,
# pinned: HDFS_HADOOP_VERSION, SERVICES_SPARK_VERSION), logs and results live in $BIGDATA_CACHE/bench/batch.
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BIGDATA_CACHE/target}

BATCH_D="$CI_DIR/bench.d/batch"
WORK="$BIGDATA_CACHE/bench/batch"
OUT="$REPO_ROOT/docs/benchmarks"
export BIGDATA_HDFS_PORT=${BIGDATA_BENCH_HDFS_PORT:-19830}
export BIGDATA_HDFS_RUN=${BIGDATA_BENCH_HDFS_RUN:-$WORK/hdfs}
unset HADOOP_CONF_DIR BIGDATA_HDFS_CONF
HDFS_URL="hdfs://127.0.0.1:$BIGDATA_HDFS_PORT"
PEERS=(raw rust spark mapreduce)
JVM_HEAP=(-Xmx1g) # both JVMs: Spark's default driver memory (spark.driver.memory=1g)

pom_hash() { sha256sum "$BATCH_D/$1/pom.xml" | cut -c1-10; }
MR_LIB="$WORK/lib/mapreduce-$HDFS_HADOOP_VERSION-$(pom_hash mapreduce)"
SPARK_LIB="$WORK/lib/spark-$SERVICES_SPARK_VERSION-$(pom_hash spark)"
SPARK_MAIN="$SPARK_LIB-main"
GEN_HASH=$(sha256sum jobs/examples/batch_text.rs | cut -c1-10)

# The --add-opens list that Spark's launch scripts pass on Java 17 (as ci/services).
JAVA_OPENS=(-XX:+IgnoreUnrecognizedVMOptions -Djava.net.preferIPv4Stack=true -Djava.awt.headless=true
  -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true)
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
  java.util.concurrent.atomic java.util.regex java.text java.time jdk.internal.ref sun.nio.ch sun.nio.cs \
  sun.security.action sun.util.calendar; do
  JAVA_OPENS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done

# ------------------------------------------------------------------------------------------------ install

# maven_jars NAME DIR -Dprop=value...: the runtime dependencies of ci/bench.d/batch/NAME/pom.xml, into DIR (cached).
maven_jars() {
  local name=$1 dir=$2 start=$SECONDS; shift 2
  [[ -f $dir/.done ]] && return 0
  log "batch: installing the $name jars from Maven Central into $dir"
  mkdir -p "$WORK"
  maven_copy_jars "$BATCH_D/$name/pom.xml" "$dir" "$WORK/mvn-$name.log" "$@"
  log "batch: $name jars installed in $((SECONDS - start))s ($(find "$dir" -name '*.jar' | wc -l) jars, $(du -sh "$dir" | cut -f1))"
}

install_jvm_peers() {
  mkdir -p "$WORK"
  maven_jars mapreduce "$MR_LIB" -Dhadoop.version="$HDFS_HADOOP_VERSION"
  maven_jars spark "$SPARK_LIB" -Dspark.version="$SERVICES_SPARK_VERSION"
  local src="$BATCH_D/BenchSparkWordCount.java" stamp
  stamp=$(sha256sum "$src" | cut -c1-16)
  if [[ ! -f $SPARK_MAIN/.done-$stamp ]]; then
    command -v javac >/dev/null || die "failed to find javac: install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
    log "batch: compiling $src"
    rm -rf "$SPARK_MAIN" && mkdir -p "$SPARK_MAIN"
    javac -nowarn -d "$SPARK_MAIN" -cp "$SPARK_LIB/*" "$src" || die "batch: failed to compile $src"
    touch "$SPARK_MAIN/.done-$stamp"
  fi
  [[ -f $WORK/log4j2.properties ]] || cat >"$WORK/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $WORK/logs/spark-log4j.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
EOF
}

# build release|debug: bigdata-jobs and the two examples (the smoke reuses the tests' debug build).
build() {
  local flags=(--locked -p bigdata-jobs --bin bigdata-jobs --example batch_text --example hdfs_read)
  [[ $1 == release ]] && flags+=(--release)
  cargo build -q "${flags[@]}" || die "batch: cargo build failed"
  BIN="$CARGO_TARGET_DIR/$1"
}

# ------------------------------------------------------------------------------------------------- HDFS

dfs() { "$CI_DIR/hdfs" dfs "$@"; }

# "256M" -> bytes (K, M, G: powers of 1024).
size_bytes() {
  [[ $1 =~ ^([0-9]+)([KMG]?)$ ]] || die "bad size '$1' (e.g. 8M, 256M, 1G)"
  local n=${BASH_REMATCH[1]}
  case ${BASH_REMATCH[2]} in
    K) echo $((n << 10)) ;;
    M) echo $((n << 20)) ;;
    G) echo $((n << 30)) ;;
    *) echo "$n" ;;
  esac
}

# ensure_input BYTES: the generated text of that size on HDFS, generated once (cached by size, seed and
# generator version); prints its path.
ensure_input() {
  local bytes=$1 path len
  path="/bench/batch/input/text-$bytes-s$SEED-$GEN_HASH.txt"
  len=$(dfs -stat %b "$path" 2>/dev/null || true)
  if [[ $len == "$bytes" ]]; then
    log "batch: input $path cached"
  else
    dfs -rm -f -skipTrash "/bench/batch/input/text-$bytes-s$SEED-*" >/dev/null 2>&1 || true
    log "batch: generating $bytes bytes (seed $SEED) into $HDFS_URL$path"
    "$BIN/examples/batch_text" "$HDFS_URL$path" "$bytes" --seed "$SEED" || die "batch: generating the input failed"
  fi
  INPUT=$path
}

# ------------------------------------------------------------------------------------------------ the runs

# measure PEER LABEL RUN CMD...: run CMD under /usr/bin/time; appends a line to $RESULTS.
measure() {
  local peer=$1 label=$2 run=$3 tf logf wall user sys rss load; shift 3
  tf=$(mktemp)
  load=$(cut -d' ' -f1 /proc/loadavg)
  logf="$WORK/logs/$label-$peer-$run.log"
  if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    rm -f "$tf"
    die "batch: $peer failed on $label (run $run); see $logf"
  fi
  read -r wall user sys rss < <(tail -n 1 "$tf")
  rm -f "$tf"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$BYTES" "$peer" "$run" "$wall" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" "$rss" "$load" >>"$RESULTS"
  log "batch: $label run $run $peer: ${wall}s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')s CPU, peak RSS $((rss / 1024)) MiB, $(awk -v b="$BYTES" -v w="$wall" 'BEGIN { printf "%.1f", b / 1e6 / w }') MB/s"
}

run_raw() {
  measure raw "$1" "$2" "$BIN/examples/hdfs_read" "$HDFS_URL$INPUT"
}

run_rust() {
  measure rust "$1" "$2" env RUST_LOG=info,hdfs_native=warn "$BIN/bigdata-jobs" wordcount --log-format text \
    --input "$HDFS_URL$INPUT" --output "$HDFS_URL$OUTDIR/rust" --overwrite
}

run_spark() {
  mkdir -p "$WORK/tmp/spark" "$WORK/logs"
  measure spark "$1" "$2" env SPARK_LOCAL_IP=127.0.0.1 java "${JAVA_OPENS[@]}" "${JVM_HEAP[@]}" \
    -Dlog4j2.configurationFile="$WORK/log4j2.properties" -Dspark.master="local[2]" -Dspark.ui.enabled=false \
    -Dspark.driver.host=127.0.0.1 -Dspark.driver.bindAddress=127.0.0.1 -Dspark.local.dir="$WORK/tmp/spark" \
    -cp "$SPARK_MAIN:$SPARK_LIB/*" BenchSparkWordCount "$HDFS_URL$INPUT" "$HDFS_URL$OUTDIR/spark"
}

run_mapreduce() {
  mkdir -p "$WORK/tmp/mapreduce"
  measure mapreduce "$1" "$2" java "${JVM_HEAP[@]}" -Djava.net.preferIPv4Stack=true \
    -Dlog4j.configuration="file:$CI_DIR/hdfs.d/log4j.properties" -cp "$MR_LIB/*" \
    org.apache.hadoop.examples.WordCount -D mapreduce.framework.name=local \
    -D mapreduce.local.map.tasks.maximum=2 -D hadoop.tmp.dir="$WORK/tmp/mapreduce" \
    "$HDFS_URL$INPUT" "$HDFS_URL$OUTDIR/mapreduce"
}

# check_outputs LABEL RUN: the three outputs hold the same sorted lines (and, for the smoke, awk's counts).
check_outputs() {
  local label=$1 run=$2 dir="$WORK/check" p sum counters=()
  for p in "${PEERS[@]}"; do [[ $p == raw ]] || counters+=("$p"); done
  rm -rf "$dir" && mkdir -p "$dir"
  dfs -get "${counters[@]/#/$OUTDIR/}" "$dir/" || die "batch: failed to fetch the outputs"
  for p in "${counters[@]}"; do
    compgen -G "$dir/$p/part-*" >/dev/null || die "batch: $p wrote no part file in $OUTDIR/$p"
    cat "$dir/$p"/part-* | LC_ALL=C sort >"$dir/$p.sorted"
  done
  for p in "${counters[@]}"; do
    cmp -s "$dir/rust.sorted" "$dir/$p.sorted" || {
      diff "$dir/rust.sorted" "$dir/$p.sorted" | head -n 10 >&2
      die "batch: $label run $run: the outputs of rust and $p differ (kept in $dir)"
    }
  done
  cmp -s "$dir/rust.sorted" "$dir/rust/part-r-00000" || die "batch: the rust output is not sorted"
  sum=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$dir/rust.sorted")
  ((sum > 0)) || die "batch: $label: no words counted"
  WORDS=$sum DISTINCT=$(wc -l <"$dir/rust.sorted")
  log "batch: $label run $run: the outputs of ${counters[*]} agree ($DISTINCT distinct words, $WORDS words)"
}

# Reads the input once, untimed, so that every way starts with it in the page cache: this VM's kernel pages out
# file pages left untouched for about 60 s (DAMON, /sys/kernel/mm/damon), whatever the free memory.
warm() { "$BIN/examples/hdfs_read" "$HDFS_URL$INPUT" >/dev/null || die "batch: failed to read $INPUT"; }

machine_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_size LABEL: the input, then RUNS rounds of every peer, each round checked.
bench_size() {
  local label=$1 run p
  BYTES=$(size_bytes "$label")
  ensure_input "$BYTES"
  OUTDIR="/bench/batch/out/$label"
  local load_before
  load_before=$(machine_load)
  for ((run = 1; run <= RUNS; run++)); do
    dfs -rm -r -f -skipTrash "$OUTDIR" >/dev/null
    for p in "${PEERS[@]}"; do
      warm
      "run_$p" "$label" "$run"
    done
    check_outputs "$label" "$run"
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$load_before" "$(machine_load)" "$WORDS" "$DISTINCT" >>"$LOADS"
}

prepare() {
  mkdir -p "$WORK/logs"
  phase batch-install install_jvm_peers
  phase batch-build build "$1"
  phase batch-hdfs "$CI_DIR/hdfs" up
}

write_meta() {
  local f=$1
  {
    echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1) x $(nproc)"
    echo "memory=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "java=$(java -version 2>&1 | head -n 1 | sed 's/.*version "\([^"]*\)".*/\1/')"
    echo "rustc=$(rustc --version | cut -d' ' -f2)"
    echo "hadoop=$HDFS_HADOOP_VERSION"
    echo "spark=$SERVICES_SPARK_VERSION"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -z $(git status --porcelain jobs 2>/dev/null) ]] || echo '+changes')"
    echo "seed=$SEED"
    echo "runs=$RUNS"
    echo "build=$BUILD"
  } >"$f"
}

full() {
  local sizes=256M,1G,4G footprint=1
  RUNS=1 SEED=42 BUILD=release
  while [[ $# -gt 0 ]]; do
    case $1 in
      --sizes) sizes=${2:?--sizes needs a list, e.g. 256M,1G}; shift 2 ;;
      --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
      --seed) SEED=${2:?--seed needs N}; shift 2 ;;
      --peers) IFS=, read -r -a PEERS <<<"${2:?--peers needs a list, e.g. raw,rust,spark}"; shift 2 ;;
      --out) OUT=${2:?--out needs a directory}; shift 2 ;;
      --no-footprint) footprint=0; shift ;;
      *) die "usage: batch.sh [--sizes 256M,1G,4G] [--runs N] [--seed N] [--peers raw,rust,spark,mapreduce] [--out DIR] [--no-footprint] | smoke | down" ;;
    esac
  done
  local p
  for p in "${PEERS[@]}"; do
    [[ $p =~ ^(raw|rust|spark|mapreduce)$ ]] || die "--peers: unknown peer '$p' (raw, rust, spark, mapreduce)"
  done
  [[ " ${PEERS[*]} " == *" rust "* ]] || die "--peers must include rust (everything is compared with it)"
  [[ $RUNS =~ ^[1-9][0-9]*$ && $SEED =~ ^[0-9]+$ ]] || die "--runs and --seed must be numbers"
  local stamp label
  stamp=$(date +%Y%m%d-%H%M%S)
  RESULTS="$WORK/results-$stamp.tsv" LOADS="$WORK/loads-$stamp.tsv"
  prepare release
  : >"$RESULTS"
  : >"$LOADS"
  write_meta "$WORK/meta-$stamp.env"
  IFS=, read -r -a labels <<<"$sizes"
  for label in "${labels[@]}"; do
    phase "batch-$label" bench_size "$label"
  done
  local fp="$WORK/footprint-$stamp.tsv"
  if ((footprint)); then
    phase batch-footprint bash "$CI_DIR/bench.d/footprint.sh" --up "$fp"
  else
    : >"$fp"
  fi
  mkdir -p "$OUT"
  python3 "$CI_DIR/bench.d/report_batch.py" "$OUT" "$RESULTS" "$LOADS" "$WORK/meta-$stamp.env" "$fp"
  log "batch: results in $RESULTS; $OUT/batch.md and batch.svg written"
}

smoke() {
  RUNS=1 SEED=42 BUILD=debug
  local stamp label=8M
  stamp=smoke-$(date +%Y%m%d-%H%M%S)
  RESULTS="$WORK/results-$stamp.tsv" LOADS="$WORK/loads-$stamp.tsv"
  prepare debug
  : >"$RESULTS"
  : >"$LOADS"
  write_meta "$WORK/meta-$stamp.env"
  bench_size "$label"
  # An independent reference: awk's fields are runs of spaces and tabs, its records lines (the input has
  # no other whitespace).
  "$BIN/examples/batch_text" - "$BYTES" --seed "$SEED" 2>/dev/null \
    | awk '{ for (i = 1; i <= NF; i++) c[$i]++ } END { for (w in c) print w "\t" c[w] }' | LC_ALL=C sort >"$WORK/check/awk.sorted"
  cmp -s "$WORK/check/awk.sorted" "$WORK/check/rust.sorted" || die "batch smoke: the outputs differ from awk's counts"
  # Sanity only: every number positive.
  awk -F'\t' '!($5 > 0 && $6 > 0 && $7 > 0) { print "bad line: " $0; bad = 1 } END { exit bad }' "$RESULTS" \
    || die "batch smoke: a measurement is not positive (see $RESULTS)"
  [[ $(wc -l <"$RESULTS") == "${#PEERS[@]}" ]] || die "batch smoke: expected ${#PEERS[@]} measurements in $RESULTS"
  # The report renders (into a scratch directory, not docs/).
  local tmp
  tmp=$(mktemp -d)
  python3 "$CI_DIR/bench.d/report_batch.py" "$tmp" "$RESULTS" "$LOADS" "$WORK/meta-$stamp.env" /dev/null >/dev/null \
    || die "batch smoke: report_batch.py failed"
  [[ -s $tmp/batch.md && -s $tmp/batch.svg ]] || die "batch smoke: the report is missing"
  rm -rf "$tmp" "$RESULTS" "$LOADS" "$WORK/meta-$stamp.env"
  log "batch smoke: raw read, wordcount, Spark and MapReduce ran on $label; outputs agree with each other and with awk"
}

case ${1:-} in
  smoke) smoke ;;
  down) "$CI_DIR/hdfs" down --single ;;
  *) full "$@" ;;
esac
