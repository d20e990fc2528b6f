#!/usr/bin/env bash
# Scaling across processes (issue 8), on this machine: `wordcount --shards N` with N = 1, 2, 4 processes
# (each its own JOB_COMPLETION_INDEX, as the pods of an Indexed Job) over the same input on the native
# HDFS, and `stream` with 1 and 3 instances of one consumer group over a pre-filled 6-partition topic.
# Writes docs/benchmarks/scale.md. Release build.
#   scale.sh [SIZE_MB] [EVENTS]   default 512 MB of text, 600 000 events
#   scale.sh smoke                8 MB and 30 000 events, sanity only (used by ci/bench smoke)
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BIGDATA_CACHE/target}
smoke=0
if [[ ${1:-} == smoke ]]; then smoke=1; size_mb=8; events=30000; else size_mb=${1:-512}; events=${2:-600000}; fi
profile=release; ((smoke)) && profile=debug
if ((smoke)); then cargo build -q --locked -p bigdata-jobs; else cargo build -q --locked --release -p bigdata-jobs; fi
BIN="$CARGO_TARGET_DIR/$profile/bigdata-jobs"
"$CI_DIR/hdfs" up >/dev/null
"$CI_DIR/services" up kafka >/dev/null
eval "$("$CI_DIR/hdfs" env)"
eval "$("$CI_DIR/services" env)"
export RUST_LOG=warn
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The input: demo events as text (JSON lines are words too), generated once per size, 64 MiB blocks.
input="/bench/scale/input-${size_mb}mb"
if ! "$CI_DIR/hdfs" dfs -test -e "$input/_READY" 2>/dev/null; then
  log "scale: generating $size_mb MB of input"
  "$BIN" generate --kind stocks --count $((size_mb * 1000000 / 150)) --seed 11 >"$work/input.txt"
  "$CI_DIR/hdfs" dfs -rm -r -f "$input" >/dev/null 2>&1 || true
  "$CI_DIR/hdfs" dfs -mkdir -p "$input"
  "$CI_DIR/hdfs" dfs -D dfs.blocksize=67108864 -put -f "$work/input.txt" "$input/part-0.txt"
  "$CI_DIR/hdfs" dfs -touchz "$input/_READY"
  rm -f "$work/input.txt"
fi
bytes=$("$CI_DIR/hdfs" dfs -du -s "$input" | awk '{print $1}')

ms() { date +%s%3N; }
rows=()
reference=""
for n in 1 2 4; do
  out="$BIGDATA_HDFS_URL/bench/scale/out-$n"
  run_id="scale-$n-$$-$(date +%s)"
  start=$(ms)
  pids=()
  for ((i = 0; i < n; i++)); do
    JOB_COMPLETION_INDEX=$i "$BIN" wordcount --input "$BIGDATA_HDFS_URL$input" --output "$out" --overwrite \
      --shards "$n" --run-id "$run_id" --parallelism $((4 / n > 1 ? 4 / n : 1)) 2>"$work/wc-$n-$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "wordcount shard failed: $(cat "$work"/wc-$n-*.log | tail -5)"; done
  took=$(($(ms) - start))
  sum=$("$CI_DIR/hdfs" dfs -cat "$out/part-r-00000" | sha256sum | cut -c1-16)
  [[ -z $reference || $sum == "$reference" ]] || die "wordcount with $n processes gave another output ($sum, not $reference)"
  reference=$sum
  mbps=$(awk -v b="$bytes" -v t="$took" 'BEGIN { printf "%.1f", b / 1e6 / (t / 1000) }')
  log "scale: wordcount, $n process(es): $took ms, $mbps MB/s"
  rows+=("wordcount | $n process(es) | $(awk -v t="$took" 'BEGIN { printf "%.1f s", t / 1000 }') | $mbps MB/s")
done

topic="bench-scale-$$-$(date +%s)"
"$BIN" generate --kind bikes --count "$events" --topic "$topic" --partitions 6 --seed 12 \
  --bootstrap-servers "$BIGDATA_KAFKA_BOOTSTRAP" 2>/dev/null
idle=4
for n in 1 3; do
  group="bench-scale-$n-$$"
  start=$(ms)
  pids=()
  for ((i = 0; i < n; i++)); do
    "$BIN" stream --input-topic "$topic" --output-topic "$topic-out-$n" --dead-letter-topic "$topic-dlq-$n" \
      --kind bikes --group "$group" --instance-id "i$i" --stop-after-idle ${idle}s \
      --bootstrap-servers "$BIGDATA_KAFKA_BOOTSTRAP" 2>"$work/st-$n-$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "stream failed: $(tail -5 "$work"/st-$n-*.log)"; done
  took=$(($(ms) - start - idle * 1000))
  rate=$(awk -v e="$events" -v t="$took" 'BEGIN { printf "%.0f", e / (t / 1000) }')
  log "scale: stream, $n instance(s): $took ms busy, $rate records/s"
  rows+=("stream (exactly once) | $n instance(s) | $(awk -v t="$took" 'BEGIN { printf "%.1f s", t / 1000 }') | $rate records/s")
done

if ((smoke)); then
  echo "scale smoke: wordcount with 1, 2 and 4 processes gave the same output; stream ran with 1 and 3 instances"
  exit 0
fi
mkdir -p docs/benchmarks
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); input $((bytes / 1000000)) MB of text (one file, 64 MiB blocks), $events events in 6 partitions; release build."
  echo
  echo "| job | processes | wall time | throughput |"
  echo "| --- | --- | ---: | ---: |"
  for r in "${rows[@]}"; do echo "| $r |"; done
} >docs/benchmarks/scale.md
cat docs/benchmarks/scale.md
