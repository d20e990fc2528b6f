#!/usr/bin/env bash
# What the value formats cost (`ci/bench formats`): the same bike events (one seed) as plain JSON, as Avro and
# as JSON Schema (both in the Confluent wire format, their schemas in the schema registry), side by side on the
# native Kafka and schema registry of `ci/services up kafka registry`: `generate` into a topic per format, then
# `stream` (exactly once, a fresh group per run) over each topic, --runs times, formats interleaved. Reported:
# generate's events/s, stream's records/s over its busy time (its `stream: done` line: first to last record),
# the median of the runs and its ratio to JSON's, and the peak RSS (/usr/bin/time). Every stream must write the
# same windows count with no dead letter. Writes docs/benchmarks/formats.md. Release build.
#   formats.sh [--events N] [--runs N]   default 600 000 events, 3 runs
#   formats.sh smoke                      20 000 events, 1 run; sanity only (used by ci/bench smoke)
. "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$BIGDATA_CACHE/target}
OUT=${BIGDATA_BENCH_OUT:-$REPO_ROOT/docs/benchmarks}
FORMATS=(json avro json-schema)

smoke=0 events=600000 runs=3
while [[ $# -gt 0 ]]; do
  case $1 in
    smoke) smoke=1; events=20000; runs=1; shift ;;
    --events) events=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    *) die "usage: ci/bench formats [--events N] [--runs N] | smoke" ;;
  esac
done
for v in events runs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive number, got '${!v}'"
done

profile=release
((smoke)) && profile=debug # the tests' build; measurements use release
if ((smoke)); then cargo build -q --locked -p bigdata-jobs; else cargo build -q --locked --release -p bigdata-jobs; fi
BIN="$CARGO_TARGET_DIR/$profile/bigdata-jobs"
"$CI_DIR/services" up kafka registry >/dev/null
eval "$("$CI_DIR/services" env)"
export RUST_LOG=info BIGDATA_LOG_FORMAT=json
work=$(mktemp -d)
prefix="bench-formats-$$-$(date +%s)"
cleanup() {
  "$CI_DIR/services" kafka org.apache.kafka.tools.TopicCommand --bootstrap-server "$BIGDATA_KAFKA_BOOTSTRAP" \
    --delete --topic "$prefix-.*" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# fields LOG MESSAGE KEY...: the KEYs of the JSON log line with this message, space-separated (one read of LOG).
fields() {
  python3 - "$@" <<'EOF'
import json, sys
log, message, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
for line in open(log):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    fields = d.get("fields", d)
    if fields.get("message") == message:
        print(" ".join(str(fields[k]) for k in keys))
        break
else:
    sys.exit(f"no {message!r} line in {log}")
EOF
}

# peak_mib TIMEFILE: the peak RSS /usr/bin/time -v measured, in MiB.
peak_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

declare -A generated stream_rates peaks windows
for f in "${FORMATS[@]}"; do
  topic="$prefix-$f"
  "$BIN" generate --kind bikes --count "$events" --seed 5 \
    --topic "$topic" --partitions 3 --format "$f" --schema-registry "$BIGDATA_SCHEMA_REGISTRY_URL" \
    --bootstrap-servers "$BIGDATA_KAFKA_BOOTSTRAP" 2>"$work/gen-$f.log" \
    || die "generate --format $f failed: $(tail -3 "$work/gen-$f.log")"
  generated[$f]=$(fields "$work/gen-$f.log" "generate: done" events_per_s)
  log "formats: generate --format $f: ${generated[$f]} events/s"
done
for ((r = 1; r <= runs; r++)); do
  for f in "${FORMATS[@]}"; do
    topic="$prefix-$f"
    name="stream-$f-$r"
    /usr/bin/time -v -o "$work/$name.time" "$BIN" stream --input-topic "$topic" --output-topic "$topic-out-$r" \
      --dead-letter-topic "$topic-dlq-$r" --kind bikes --group "$prefix-$f-$r" --stop-after-idle 3s \
      --schema-registry "$BIGDATA_SCHEMA_REGISTRY_URL" --bootstrap-servers "$BIGDATA_KAFKA_BOOTSTRAP" \
      2>"$work/$name.log" || die "stream over $f failed: $(tail -3 "$work/$name.log")"
    read -r rate out dead records < <(fields "$work/$name.log" "stream: done" records_per_s records_out \
      dead_lettered records_in) || die "stream over $f logged no summary: see $work/$name.log"
    peak=$(peak_mib "$work/$name.time")
    ((records == events)) || die "stream over $f read $records records, not $events"
    ((dead == 0)) || die "stream over $f dead-lettered $dead records"
    [[ -z ${windows[ref]:-} || $out == "${windows[ref]}" ]] || die "stream over $f wrote $out windows, the first format ${windows[ref]}"
    windows[ref]=$out
    stream_rates[$f]+="$rate "
    peaks[$f]+="$peak "
    log "formats: run $r, stream over $f: $rate records/s, $out windows, peak $peak MiB"
  done
done
((smoke)) && { log "formats smoke: every format streamed to the same ${windows[ref]} windows"; exit 0; }

mkdir -p "$OUT"
python3 - "$OUT/formats.md" "$events" "$runs" "$load_before" "${windows[ref]}" <<EOF
import statistics, sys
path, events, runs, load, windows = sys.argv[1:]
formats = "${FORMATS[*]}".split()
generated = dict(zip(formats, "$(for f in "${FORMATS[@]}"; do printf '%s ' "${generated[$f]}"; done)".split()))
rates = {f: [float(x) for x in r.split()] for f, r in zip(formats, """$(for f in "${FORMATS[@]}"; do echo "${stream_rates[$f]}"; done)""".splitlines())}
peaks = {f: [int(x) for x in r.split()] for f, r in zip(formats, """$(for f in "${FORMATS[@]}"; do echo "${peaks[$f]}"; done)""".splitlines())}
label = {"json": "JSON", "avro": "Avro (Confluent wire format)", "json-schema": "JSON Schema (Confluent wire format)"}
base = statistics.median(rates["json"])
lines = [
    f"Measured $(date -u +%Y-%m-%d) on $(nproc) cores, load before: {load}; {int(events):,} bike events in 3 partitions "
    f"(one seed), {runs} stream run(s) per format, interleaved; release build; every run wrote the same {int(windows):,} "
    "windows with no dead letter.",
    "",
    "| format | generate | stream (median) | stream runs | vs JSON | stream peak RSS |",
    "| --- | ---: | ---: | --- | ---: | ---: |",
]
for f in formats:
    m = statistics.median(rates[f])
    lines.append(
        f"| {label[f]} | {float(generated[f]):,.0f} events/s | {m:,.0f} records/s | "
        + ", ".join(f"{r:,.0f}" for r in rates[f])
        + f" | {m / base:.2f}x | {max(peaks[f])} MiB |"
    )
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
