#!/usr/bin/env bash
# The stream benchmark (`ci/bench stream`): `bigdata-jobs stream` side by side with the raw consumer ceiling
# (Kafka's own org.apache.kafka.tools.ConsumerPerformance) and an equivalent Kafka Streams job
# (ci/bench.d/kafka-streams/: exactly_once_v2, the same per-station one-minute windows, 10 s grace), on the
# native Kafka of `ci/services up kafka` (brought up here). Writes docs/benchmarks/stream.{md,svg}
# (report_stream.py). Jars, classes, logs and run directories live under $BIGDATA_CACHE/bench/stream.
#
#   stream.sh [--events N] [--runs N] [--rate R] [--seconds S] [--warmup W] [--commit-interval D] [--no-profile]
#     Throughput: N bike events (default 2000000; 100 stations, event time 1 ms apart, up to now) go into a
#       6-partition topic, then each consumer reads the whole topic from the beginning, --runs times
#       (default 3, medians reported): ConsumerPerformance (records/s and MB/s, group join excluded),
#       bigdata-jobs stream (release build, EOS, default transaction size, --stop-after-idle; records/s from
#       its first to its last record; then again with 100 000-record transactions (--commit-interval 10s),
#       with librdkafka's default fetch.queue.backoff.ms=1000 (the job sets 10), and with the job's previous
#       defaults (10 000 records or 1 s, backoff 1000 ms), to separate the costs) and the Kafka Streams
#       job (first to last record; and until its committed offsets reach the end). Peak RSS and CPU time of
#       each from /usr/bin/time; the threads' CPU and run-queue time of the first bigdata-jobs run from
#       /proc. Then the two jobs' outputs are compared window by window, and (unless --no-profile, or without
#       perf) one more run of bigdata-jobs stream is sampled with perf.
#     Latency: R events/s (default 20000) for S seconds (default 60) are produced into a fresh topic while
#       one job consumes it: bigdata-jobs stream, then Kafka Streams, each committing every D (default 20ms);
#       then each again with its own defaults (bigdata-jobs: 100 000 records or 50 ms; Kafka Streams: 100 ms).
#       The load is the Kafka Streams tool's `produce` mode: the events of `bigdata-jobs generate` (same JSON,
#       key and producer settings) with event time = the wall clock, paced every millisecond (`generate
#       --rate`'s event time cannot follow the clock above 1000 events/s).
#       Commit latency of a record = when the transaction that consumed it committed - its Kafka timestamp
#       (produce time), from the jobs' own histograms (the same buckets): p50/p99 over all records, and
#       without what was committed in the first W seconds (default 10: the JVM's warm-up), from two scrapes
#       of the Rust job's /metrics and the Kafka Streams job's own snapshot.
#   stream.sh smoke
#     20000 events; each consumer once; checks that both jobs wrote the same windows (count of windows, total
#     count per station, and every aggregate) and that every number is positive. No timed assertions.
#
# Environment: BIGDATA_BENCH_KEEP_TOPICS=1 keeps the run's topics (deleted at the end otherwise).
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT" || exit 1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BIGDATA_CACHE/target}

SERVICES="$CI_DIR/services"
BENCH_HOME="$BIGDATA_CACHE/bench/stream"
SVC_HOME="$BIGDATA_CACHE/services"
KS_DIR="$CI_DIR/bench.d/kafka-streams"
KS_LIB="$BENCH_HOME/lib/kafka-streams-$SERVICES_KAFKA_VERSION-log4j-$SERVICES_LOG4J2_VERSION-$(sha256sum "$KS_DIR/pom.xml" | cut -c1-10)"
KS_CLASSES="$KS_LIB-classes"
OUT=${BIGDATA_BENCH_OUT:-$REPO_ROOT/docs/benchmarks}
PARTITIONS=6
STATIONS=100
# The same JVM settings for both Java consumers (ci/services' tool defaults, C1 only and the serial collector,
# are for short-lived tools: they are overridden for ConsumerPerformance).
JVM=(-Xmx1g -XX:+UseG1GC)

EVENTS=2000000 RUNS=3 RATE=20000 SECONDS_=60 WARMUP=10 COMMIT_INTERVAL=20ms PROFILE=1 MODE=full
while [[ $# -gt 0 ]]; do
  case $1 in
    smoke) MODE=smoke; shift ;;
    --events) EVENTS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --seconds) SECONDS_=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --commit-interval) COMMIT_INTERVAL=${2:?}; shift 2 ;;
    --no-profile) PROFILE=0; shift ;;
    *) die "usage: ci/bench stream [--events N] [--runs N] [--rate R] [--seconds S] [--warmup W] [--commit-interval D] [--no-profile] | smoke" ;;
  esac
done
for v in EVENTS RUNS RATE SECONDS_; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v%_} must be a positive number, got '${!v}'"
done
if ! [[ $WARMUP =~ ^[0-9]+$ ]] || ((WARMUP >= SECONDS_)); then
  die "--warmup must be a number of seconds below --seconds, got '$WARMUP'"
fi
[[ $COMMIT_INTERVAL =~ ^([0-9]+)(ms|s)$ ]] || die "--commit-interval must be like 50ms or 1s, got '$COMMIT_INTERVAL'"
COMMIT_INTERVAL_MS=${BASH_REMATCH[1]}
[[ ${BASH_REMATCH[2]} == s ]] && COMMIT_INTERVAL_MS=$((COMMIT_INTERVAL_MS * 1000))

# ------------------------------------------------------------------------------------------------ setup

# compile_java OUT CLASSPATH SRC...: as ci/services' compile_java, once per version of the sources.
compile_java() {
  local out=$1 cp=$2 stamp
  shift 2
  stamp=$(cat "$@" | sha256sum | cut -c1-16)
  [[ -f $out/.done-$stamp ]] && return 0
  command -v javac >/dev/null || die "failed to find javac: install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
  log "kafka-streams: compiling $(basename -a "$@" | tr '\n' ' ')"
  rm -rf "$out" && mkdir -p "$out"
  javac -nowarn -d "$out" -cp "$cp" "$@" || die "failed to compile $*"
  touch "$out/.done-$stamp"
}

# The Kafka Streams job's jars (Maven Central, the broker's Kafka version; the services' Maven repository
# and lock) and classes.
install_streams() {
  if [[ ! -f $KS_LIB/.done ]]; then
    log "kafka-streams: installing jars from Maven Central into $KS_LIB"
    mkdir -p "$BENCH_HOME"
    maven_copy_jars "$KS_DIR/pom.xml" "$KS_LIB" "$BENCH_HOME/mvn.log" -Dkafka.version="$SERVICES_KAFKA_VERSION" \
      -Dlog4j2.version="$SERVICES_LOG4J2_VERSION"
  fi
  compile_java "$KS_CLASSES" "$KS_LIB/*" "$KS_DIR/BigdataStreamsBench.java"
}

prepare() {
  mkdir -p "$BENCH_HOME"
  "$SERVICES" up kafka
  eval "$("$SERVICES" env)"
  BOOTSTRAP=$BIGDATA_KAFKA_BOOTSTRAP
  install_streams
  local profile=release
  [[ $MODE == smoke ]] && profile=debug # the tests' build; measurements use release
  log "building bigdata-jobs ($profile)"
  if [[ $profile == release ]]; then
    cargo build -q --locked --release -p bigdata-jobs
  else
    cargo build -q --locked -p bigdata-jobs
  fi
  BIN="$CARGO_TARGET_DIR/$profile/bigdata-jobs"
  STAMP=$(date +%Y%m%d-%H%M%S)
  RUN="$BENCH_HOME/$MODE-$STAMP"
  PREFIX="bench-stream-$STAMP"
  mkdir -p "$RUN"
  # Keep the last three run directories of this mode.
  find "$BENCH_HOME" -maxdepth 1 -name "$MODE-*" -type d | sort | head -n -3 | xargs -r rm -rf
  cat >"$RUN/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $RUN/kafka-streams.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
EOF
  {
    echo "mode=$MODE"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "events=$EVENTS"
    echo "partitions=$PARTITIONS"
    echo "stations=$STATIONS"
    echo "runs=$RUNS"
    echo "rate=$RATE"
    echo "seconds=$SECONDS_"
    echo "warmup=$WARMUP"
    echo "commit_interval_ms=$COMMIT_INTERVAL_MS"
    echo "kafka_version=$SERVICES_KAFKA_VERSION"
    echo "java=$(java -version 2>&1 | head -n 1)"
    echo "rustc=$(rustc --version)"
    echo "librdkafka=2.12.1"
    echo "cpus=$(nproc)"
    echo "memory_gib=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
    echo "commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet HEAD -- jobs 2>/dev/null || echo +changes)"
  } >"$RUN/env.txt"
  log "run directory $RUN, topics $PREFIX-*"
}

# The machine's load while the benchmark runs: the load average every 5 s, the busiest processes every 30 s.
SAMPLER=""
start_sampler() {
  (
    i=0
    while true; do
      echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/load.txt"
      if ((i % 6 == 0)); then
        { echo "== $(date +%H:%M:%S)"; ps -eo pcpu,args --sort=-pcpu | head -n 10 | cut -c1-4000; } >>"$RUN/ps.txt"
      fi
      i=$((i + 1))
      sleep 5
    done
  ) &
  SAMPLER=$!
}

cleanup() {
  if [[ -n $SAMPLER ]]; then kill "$SAMPLER" 2>/dev/null || true; fi
  if [[ -n ${PREFIX:-} && ${BIGDATA_BENCH_KEEP_TOPICS:-0} != 1 && -n ${BOOTSTRAP:-} ]]; then
    "$SERVICES" kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --delete \
      --topic "$PREFIX-.*" >/dev/null 2>&1 || true
  fi
  rm -rf "${RUN:-/nonexistent}/state"
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------------------ tools

# timed NAME CMD...: run CMD with /usr/bin/time -v; stdout, stderr and the timing go to $RUN/NAME.{out,err,time}.
timed() {
  local name=$1; shift
  timeout 1800 /usr/bin/time -v -o "$RUN/$name.time" "$@" >"$RUN/$name.out" 2>"$RUN/$name.err" \
    || { tail -n 20 "$RUN/$name.err" >&2; die "$name failed: see $RUN/$name.err"; }
}

# generate TOPIC COUNT STEP_MS: COUNT bike events STEP_MS apart in event time, the last one now. Event
# times must be recent: Kafka Streams' outputs and changelogs carry them as record timestamps, and the broker
# rolls a log segment for every batch older than segment.ms (7 days) and deletes it at its next retention
# check (the demo's default 2023 event times lost a smoke's Kafka Streams output that way).
generate() {
  local topic=$1 count=$2 step=$3
  "$BIN" generate --topic "$topic" --partitions "$PARTITIONS" --count "$count" --stations "$STATIONS" \
    --step-ms "$step" --start-ms $(($(date +%s%3N) - count * step)) --bootstrap-servers "$BOOTSTRAP"
}

consumer_perf() { # NAME TOPIC COUNT
  timed "$1" "$SERVICES" kafka "${JVM[@]}" -XX:TieredStopAtLevel=4 -XX:-UseSerialGC -XX:+UseG1GC \
    org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP" --topic "$2" --messages "$3" \
    --group "$PREFIX-$1" --timeout 60000
}

# rust_stream NAME TOPIC [ARG...]: the command line (in CMD) of the job over TOPIC, output NAME-out, group
# NAME; one debug line per transaction (where the time goes).
rust_stream() {
  local name=$1 topic=$2; shift 2
  # shellcheck disable=SC2054 # the commas belong to RUST_LOG's value
  CMD=(env RUST_LOG=info,librdkafka=warn,bigdata_jobs::stream=debug "$BIN" --log-format json stream
    --input-topic "$topic" --output-topic "$PREFIX-$name-out" --dead-letter-topic "$PREFIX-$name-dlq"
    --kind bikes --window 60s --allowed-lateness 10s --group "$PREFIX-$name" --instance-id 0
    --bootstrap-servers "$BOOTSTRAP" "$@")
}

# kafka_streams NAME TOPIC [ARG...]: the command line (in CMD) of the Kafka Streams job over TOPIC, output
# NAME-out, application id NAME.
kafka_streams() {
  local name=$1 topic=$2; shift 2
  CMD=(java "${JVM[@]}" -Dlog4j2.configurationFile="$RUN/log4j2.properties" -cp "$KS_CLASSES:$KS_LIB/*"
    BigdataStreamsBench run --bootstrap "$BOOTSTRAP" --input "$topic" --output "$PREFIX-$name-out"
    --application-id "$PREFIX-$name" --state-dir "$RUN/state" --window-ms 60000 --grace-ms 10000 "$@")
}

produce() { # NAME TOPIC: the latency run's load, RATE events/s for SECONDS_ s
  java -Xmx512m -Dlog4j2.configurationFile="$RUN/log4j2.properties" -cp "$KS_CLASSES:$KS_LIB/*" \
    BigdataStreamsBench produce --bootstrap "$BOOTSTRAP" --topic "$2" --rate "$RATE" --seconds "$SECONDS_" \
    --stations "$STATIONS" >"$RUN/$1-producer.out" 2>"$RUN/$1-producer.err"
}

dump() { # TOPIC FILE: the committed values of TOPIC, one a line
  java -Xmx512m -Dlog4j2.configurationFile="$RUN/log4j2.properties" -cp "$KS_CLASSES:$KS_LIB/*" \
    BigdataStreamsBench dump --bootstrap "$BOOTSTRAP" --topic "$1" >"$2"
}

compare_outputs() { # RUST_NAME STREAMS_NAME
  dump "$PREFIX-$1-out" "$RUN/$1.windows"
  dump "$PREFIX-$2-out" "$RUN/$2.windows"
  python3 "$CI_DIR/bench.d/report_stream.py" compare "$RUN/$1.windows" "$RUN/$2.windows" | tee "$RUN/compare.txt" >&2
}

# sample_threads GROUP FILE PID: while PID runs, every 0.5 s, the scheduler's counters of each thread of the
# bigdata-jobs process of consumer group GROUP (/proc/<pid>/task/*/schedstat: ns on a CPU, ns waiting for
# one, time slices), into FILE: the last complete sample is its whole life.
sample_threads() {
  local group=$1 file=$2 watched=$3 pid="" p t
  while kill -0 "$watched" 2>/dev/null; do
    if [[ -z $pid ]]; then
      for p in $(pgrep -f -- "--group $group --instance-id" || true); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == bigdata-jobs ]] && pid=$p
      done
    fi
    if [[ -n $pid ]]; then
      for t in /proc/"$pid"/task/*; do
        echo "$(cat "$t/comm" 2>/dev/null) $(cat "$t/schedstat" 2>/dev/null)"
      done >"$file.tmp" 2>/dev/null || true
      # Only complete samples (the process may be exiting while it is read).
      if grep -q '^bigdata-jobs [0-9]* [0-9]* [0-9]*$' "$file.tmp" 2>/dev/null \
        && ! grep -qv '^[^ ]* [0-9]* [0-9]* [0-9]*$' "$file.tmp"; then
        mv "$file.tmp" "$file"
      fi
    fi
    sleep 0.5
  done
  rm -f "$file.tmp"
}

# wait_for FILE PATTERN SECONDS: until FILE holds a line matching PATTERN.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || die "no '$2' in $1 after $3 s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------- phases

throughput() {
  local topic="$PREFIX-in" i
  log "throughput: producing $EVENTS events into $topic ($PARTITIONS partitions)"
  generate "$topic" "$EVENTS" 1 2>"$RUN/generate.err" || { tail -n 5 "$RUN/generate.err" >&2; die "generate failed"; }
  for ((i = 1; i <= RUNS; i++)); do
    log "throughput run $i/$RUNS: ConsumerPerformance"
    consumer_perf "perf-$i" "$topic" "$EVENTS"
    log "throughput run $i/$RUNS: bigdata-jobs stream"
    rust_stream "rust-$i" "$topic" --stop-after-idle 5s
    timed "rust-$i" "${CMD[@]}" &
    sample_threads "$PREFIX-rust-$i" "$RUN/rust-$i.schedstat" $!
    wait $! || die "bigdata-jobs stream failed: see $RUN/rust-$i.err"
    log "throughput run $i/$RUNS: bigdata-jobs stream, 100 000-record transactions"
    rust_stream "rust-big-$i" "$topic" --stop-after-idle 5s --commit-interval 10s
    timed "rust-big-$i" "${CMD[@]}"
    log "throughput run $i/$RUNS: bigdata-jobs stream, --kafka-conf fetch.queue.backoff.ms=1000 (librdkafka's default)"
    rust_stream "rust-fetch-$i" "$topic" --stop-after-idle 5s --kafka-conf fetch.queue.backoff.ms=1000
    timed "rust-fetch-$i" "${CMD[@]}"
    log "throughput run $i/$RUNS: bigdata-jobs stream, its previous defaults"
    rust_stream "rust-old-$i" "$topic" --stop-after-idle 5s --commit-records 10000 --commit-interval 1s \
      --kafka-conf fetch.queue.backoff.ms=1000
    timed "rust-old-$i" "${CMD[@]}"
    log "throughput run $i/$RUNS: Kafka Streams"
    kafka_streams "streams-$i" "$topic"
    timed "streams-$i" "${CMD[@]}"
    python3 "$CI_DIR/bench.d/report_stream.py" summary "$RUN" "$i" >&2
  done
  log "throughput: comparing the outputs of run 1"
  compare_outputs rust-1 streams-1
}

profile() {
  if [[ $PROFILE != 1 ]] || ! command -v perf >/dev/null \
    || ! perf record -q -o "$RUN/perf-check.data" -- true >/dev/null 2>&1; then
    log "profile: skipped (--no-profile, or perf cannot record here)"
    return 0
  fi
  rm -f "$RUN/perf-check.data"
  log "profile: bigdata-jobs stream once more under perf record"
  rust_stream rust-profile "$PREFIX-in" --stop-after-idle 5s
  timed rust-profile perf record -q -F 499 -o "$RUN/perf.data" -- "${CMD[@]}"
  perf report -i "$RUN/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep . | head -n 15 >"$RUN/perf-dso.txt" || true
  perf report -i "$RUN/perf.data" --no-children --sort sym --stdio 2>/dev/null | grep -v '^#' | grep . | head -n 40 >"$RUN/perf-sym.txt" || true
  perf report -i "$RUN/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep . | head -n 10 >"$RUN/perf-thread.txt" || true
  rm -f "$RUN/perf.data"
}

# latency_run JOB NAME INTERVAL_MS: a fresh topic, JOB (rust or streams) consuming it, committing every
# INTERVAL_MS (or with its defaults: "default"), then RATE events/s for SECONDS_; results in $RUN/NAME.*.
latency_run() {
  local kind=$1 name=$2 interval=$3 topic="$PREFIX-$2" job load port metrics commit=()
  generate "$topic" 0 1 2>/dev/null # creates the topic
  log "latency: $name consuming $topic (commit interval: $interval); $RATE events/s for $SECONDS_ s"
  echo "$interval" >"$RUN/$name.interval"
  if [[ $kind == rust ]]; then
    [[ $interval == default ]] || commit=(--commit-interval "${interval}ms")
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    metrics="http://127.0.0.1:$port/metrics"
    rust_stream "$name" "$topic" "${commit[@]}" --stop-after-idle 20s --metrics-addr "127.0.0.1:$port"
    timed "$name" "${CMD[@]}" &
    job=$!
    wait_for "$RUN/$name.err" 'stream: partitions assigned' 120
  else
    [[ $interval == default ]] || commit=(--commit-interval-ms "$interval")
    kafka_streams "$name" "$topic" "${commit[@]}" --idle-ms 5000 --warmup-ms $((WARMUP * 1000))
    timed "$name" "${CMD[@]}" &
    job=$!
    wait_for "$RUN/$name.err" 'bench: streams RUNNING' 120
  fi
  sleep 2
  produce "$name" "$topic" &
  load=$!
  if [[ $kind == rust ]]; then
    # The Rust job's histogram after the warm-up, and once every record is counted (it then stops when idle).
    sleep "$WARMUP"
    curl -sf "$metrics" >"$RUN/$name-metrics-warm.txt" || die "failed to scrape $metrics"
  fi
  wait "$load" || die "the load failed: see $RUN/$name-producer.err"
  log "latency: $name: $(cat "$RUN/$name-producer.out"); waiting for the job to finish"
  if [[ $kind == rust ]]; then
    local produced deadline=$((SECONDS + 60))
    produced=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["produced"])' "$RUN/$name-producer.out")
    until curl -sf "$metrics" >"$RUN/$name-metrics-end.txt" \
      && awk -v n="$produced" '$1 == "bigdata_stream_commit_latency_seconds_count" && $2 >= n { ok = 1 } END { exit !ok }' \
        "$RUN/$name-metrics-end.txt"; do
      ((SECONDS < deadline)) || die "the Rust job did not commit the $produced records within 60 s"
      sleep 0.5
    done
  fi
  wait "$job" || die "the $name job failed"
}

smoke() {
  local topic="$PREFIX-in" n=20000
  log "smoke: producing $n events into $topic"
  # 10 ms apart: 200 s of event time, so that windows close.
  generate "$topic" "$n" 10 2>"$RUN/generate.err" || { tail -n 5 "$RUN/generate.err" >&2; die "generate failed"; }
  consumer_perf perf-1 "$topic" "$n"
  rust_stream rust-1 "$topic" --stop-after-idle 3s
  timed rust-1 "${CMD[@]}"
  kafka_streams streams-1 "$topic"
  timed streams-1 "${CMD[@]}"
  compare_outputs rust-1 streams-1
  python3 "$CI_DIR/bench.d/report_stream.py" check "$RUN" "$n"
}

prepare
start_sampler
if [[ $MODE == smoke ]]; then
  phase stream-smoke smoke
else
  phase stream-throughput throughput
  phase stream-profile profile
  phase stream-latency-rust latency_run rust lat-rust "$COMMIT_INTERVAL_MS"
  phase stream-latency-streams latency_run streams lat-streams "$COMMIT_INTERVAL_MS"
  # Each job with its own defaults too: bigdata-jobs 100 000 records / 50 ms, Kafka Streams 100 ms under EOS.
  phase stream-latency-rust-default latency_run rust lat-rust-default default
  phase stream-latency-streams-default latency_run streams lat-streams-default default
  mkdir -p "$OUT"
  python3 "$CI_DIR/bench.d/report_stream.py" report "$RUN" "$OUT"
fi
