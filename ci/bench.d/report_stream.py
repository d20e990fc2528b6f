"""The stream benchmark's parsing, checks and report (ci/bench.d/stream.sh).

usage:
  report_stream.py report RUN_DIR OUT_DIR     writes OUT_DIR/stream.md (the tables) and OUT_DIR/stream.svg
  report_stream.py summary RUN_DIR I          one line about throughput run I (for the log)
  report_stream.py compare RUST STREAMS       the two jobs' windows (JSON lines) agree? exit 1 if not
  report_stream.py check RUN_DIR N            the smoke's sanity checks (N events); exit 1 on failure

RUN_DIR holds, per consumer NAME, NAME.out / NAME.err (its stdout/stderr) and NAME.time (/usr/bin/time -v):
perf-I (ConsumerPerformance), rust-I and lat-rust (bigdata-jobs stream, JSON logs), streams-I and
lat-streams (the Kafka Streams job: one JSON line on stdout); env.txt, load.txt, ps.txt, compare.txt and,
when profiled, perf-*.txt.
"""
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

TARGET_SHARE = 0.70  # of the raw consumer ceiling
TARGET_P99_MS = 100.0
# The latency runs of stream.sh: label, name, which job.
LATENCY_RUNS = [
    ("bigdata-jobs stream", "lat-rust", "rust"),
    ("Kafka Streams", "lat-streams", "streams"),
    ("bigdata-jobs stream, its defaults", "lat-rust-default", "rust"),
    ("Kafka Streams, its defaults", "lat-streams-default", "streams"),
]


# ------------------------------------------------------------------------------------------------- parsing


def env(run: Path) -> dict:
    out = {}
    for line in (run / "env.txt").read_text().splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def time_v(path: Path) -> dict:
    """Peak RSS (MiB), CPU seconds and wall seconds from /usr/bin/time -v."""
    text = path.read_text()

    def field(name):
        m = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.M)
        if not m:
            raise SystemExit(f"{path}: no '{name}'")
        return m.group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {
        "rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024,
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "wall_s": wall,
    }


def consumer_perf(run: Path, name: str) -> dict:
    lines = [l for l in (run / f"{name}.out").read_text().splitlines() if l.strip()]
    header = [h.strip() for h in next(l for l in lines if l.startswith("start.time")).split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    row = dict(zip(header, values))
    r = {
        "records": int(row["data.consumed.in.nMsg"]),
        "mb": float(row["data.consumed.in.MB"]),
        # Without the group join (rebalance.time.ms), as the jobs' rates start at their first record.
        "records_per_s": float(row["fetch.nMsg.sec"]),
        "mb_per_s": float(row["fetch.MB.sec"]),
        "records_per_s_overall": float(row["nMsg.sec"]),
        "rebalance_ms": float(row["rebalance.time.ms"]),
    }
    r.update(time_v(run / f"{name}.time"))
    return r


def rust_log(run: Path, name: str) -> dict:
    done, txns = None, []
    for line in (run / f"{name}.err").read_text().splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        message = event.get("message", "")
        if message == "stream: done":
            done = event
        elif message == "stream: transaction committed":
            txns.append(event)
    if done is None:
        raise SystemExit(f"{run / (name + '.err')}: no 'stream: done' line")
    r = {
        "records": int(done["records_in"]),
        "records_out": int(done["records_out"]),
        "dead_lettered": int(done["dead_lettered"]),
        "transactions": int(done["transactions"]),
        "busy_s": float(done["busy_seconds"]),
        "records_per_s": float(done["records_per_s"]),
        "p50_ms": float(done.get("commit_latency_p50_ms", -1)),
        "p99_ms": float(done.get("commit_latency_p99_ms", -1)),
        "txn_ms": [float(t.get("offsets_ms", 0)) + float(t.get("commit_ms", 0)) + float(t.get("land_ms", 0)) for t in txns],
        "txn_offsets_ms": [float(t.get("offsets_ms", 0)) for t in txns],
        "txn_commit_ms": [float(t.get("commit_ms", 0)) for t in txns],
        "txn_records": [int(t.get("records", 0)) for t in txns],
    }
    r.update(time_v(run / f"{name}.time"))
    return r


def streams_log(run: Path, name: str) -> dict:
    line = [l for l in (run / f"{name}.out").read_text().splitlines() if l.startswith("{")][-1]
    s = json.loads(line)
    r = {
        "records": int(s["records_in"]),
        "transactions": int(s["transactions"]),
        "busy_s": float(s["busy_seconds"]),
        "records_per_s": float(s["records_per_s"]),
        "records_per_s_to_committed": float(s["records_per_s_to_committed"]),
        "p50_ms": float(s["commit_latency_p50_ms"]),
        "p99_ms": float(s["commit_latency_p99_ms"]),
        "latency_count": int(s["commit_latency_count"]),
        "steady_p50_ms": float(s.get("steady_p50_ms", -1)),
        "steady_p99_ms": float(s.get("steady_p99_ms", -1)),
        "steady_count": int(s.get("steady_count", 0)),
    }
    r.update(time_v(run / f"{name}.time"))
    return r


def prometheus_buckets(path: Path, name: str = "bigdata_stream_commit_latency_seconds") -> list:
    """[(upper bound, cumulative count)] of a histogram in a /metrics scrape, +Inf last."""
    out = []
    for line in path.read_text().splitlines():
        m = re.match(rf'{name}_bucket\{{.*le="([^"]+)"\}} (\d+)$', line)
        if m:
            out.append((float(m.group(1)), int(m.group(2))))
    if not out:
        raise SystemExit(f"{path}: no {name} histogram")
    return out


def quantile_ms(buckets: list, base: list, q: float) -> float:
    """As jobs/src/metrics.rs Histogram::quantile (Prometheus' histogram_quantile) over buckets - base, in ms."""
    bounds = [b for b, _ in buckets]
    cumulative = [c - (base[i][1] if base else 0) for i, (_, c) in enumerate(buckets)]
    counts = [c - (cumulative[i - 1] if i else 0) for i, c in enumerate(cumulative)]
    total = cumulative[-1]
    if total == 0:
        return -1.0
    rank, below = q * total, 0
    for i, n in enumerate(counts):
        if n > 0 and below + n >= rank:
            if bounds[i] == float("inf"):
                return bounds[-2] * 1000
            lower = bounds[i - 1] if i else 0.0
            return round((lower + (bounds[i] - lower) * (rank - below) / n) * 1000, 1)
        below += n
    return bounds[-2] * 1000


def steady_rust(run: Path, name: str) -> dict:
    """A Rust latency run's quantiles without the warm-up: the end scrape minus the warm-up one."""
    warm = prometheus_buckets(run / f"{name}-metrics-warm.txt")
    end = prometheus_buckets(run / f"{name}-metrics-end.txt")
    return {
        "steady_p50_ms": quantile_ms(end, warm, 0.5),
        "steady_p99_ms": quantile_ms(end, warm, 0.99),
        "steady_count": end[-1][1] - warm[-1][1],
    }


def schedstat(path: Path) -> list:
    """[(thread name, s on a CPU, s waiting for one)] from a sample of /proc/<pid>/task/*/schedstat, the
    main thread first."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1].isdigit():
            out.append((parts[0], int(parts[1]) / 1e9, int(parts[2]) / 1e9))
    return out


def generated(run: Path, name: str) -> dict:
    """What the latency run's load produced: {"produced": N, "seconds": S}."""
    return json.loads((run / f"{name}-producer.out").read_text().strip().splitlines()[-1])


def load(run: Path) -> dict:
    values = []
    path = run / "load.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                values.append(float(parts[1]))
    if not values:
        return {"min": 0.0, "max": 0.0, "mean": 0.0}
    return {"min": min(values), "max": max(values), "mean": statistics.mean(values)}


def process_label(args: str) -> str:
    """A short name for a command line: a JVM by its main class, anything else by its program."""
    words = args.split()
    if not words:
        return "?"
    program = words[0].rsplit("/", 1)[-1]
    if program != "java":
        return program
    for i, w in enumerate(words[1:], 1):
        if w in ("-cp", "-classpath"):
            continue
        if not w.startswith("-") and words[i - 1] not in ("-cp", "-classpath"):
            return "java " + w.rsplit(".", 1)[-1]
    return "java"


def busiest_others(run: Path) -> list:
    """What else kept the machine busy: the commands, other than the benchmark's own processes and the Kafka
    broker, with the highest mean %CPU (of one core) over the ps samples."""
    path = run / "ps.txt"
    if not path.exists():
        return []
    ours = ("bench-stream-", "BigdataStreamsBench", "ConsumerPerformance", "kafka.Kafka ", "ps -eo", "perf record")
    seen, samples = defaultdict(float), 0
    for line in path.read_text().splitlines():
        if line.startswith("=="):
            samples += 1
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or parts[0] == "%CPU" or any(o in parts[1] for o in ours):
            continue
        seen[process_label(parts[1])] += float(parts[0])
    ranked = sorted(((v / max(samples, 1), k) for k, v in seen.items()), reverse=True)
    return [(k, v) for v, k in ranked if v >= 5][:5]


# ------------------------------------------------------------------------------------------------ compare


def windows(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            w = json.loads(line)
            key = (w["station"], w["window_start"])
            if key in out:
                raise SystemExit(f"{path}: window {key} written twice")
            out[key] = w
    return out


def compare(rust_path: Path, streams_path: Path) -> bool:
    a, b = windows(rust_path), windows(streams_path)
    per_station = lambda ws: {s: sum(w["count"] for (st, _), w in ws.items() if st == s) for s in {k[0] for k in ws}}
    totals_equal = per_station(a) == per_station(b)
    same = a.keys() == b.keys() and all(
        all(a[k][f] == b[k][f] for f in ("window_end", "count", "min_available_bikes", "max_available_bikes"))
        and abs(a[k]["avg_available_bikes"] - b[k]["avg_available_bikes"]) <= 1e-9 * max(1.0, abs(a[k]["avg_available_bikes"]))
        for k in a.keys() & b.keys()
    )
    records = sum(w["count"] for w in a.values())
    print(
        f"windows: bigdata-jobs stream {len(a)}, Kafka Streams {len(b)} ({len({k[0] for k in a})} stations, "
        f"{records} records in closed windows); total count per station equal: {'yes' if totals_equal else 'NO'}; "
        f"every aggregate equal: {'yes' if same else 'NO'}"
    )
    return len(a) == len(b) and len(a) > 0 and totals_equal and same


# --------------------------------------------------------------------------------------------------- runs


def throughput_runs(run: Path) -> list:
    runs = []
    i = 1
    while (run / f"perf-{i}.out").exists() and (run / f"streams-{i}.out").exists():
        runs.append(
            {
                "perf": consumer_perf(run, f"perf-{i}"),
                "rust": rust_log(run, f"rust-{i}"),
                "rust_big": rust_log(run, f"rust-big-{i}"),
                "rust_fetch": rust_log(run, f"rust-fetch-{i}"),
                "rust_old": rust_log(run, f"rust-old-{i}"),
                "streams": streams_log(run, f"streams-{i}"),
            }
        )
        i += 1
    return runs


def summary(run: Path, i: int) -> None:
    p, r, s = consumer_perf(run, f"perf-{i}"), rust_log(run, f"rust-{i}"), streams_log(run, f"streams-{i}")
    print(
        f"run {i}: ConsumerPerformance {p['records_per_s']:,.0f} records/s ({p['rss_mib']:.0f} MiB); "
        f"bigdata-jobs stream {r['records_per_s']:,.0f} records/s ({r['records_per_s'] / p['records_per_s']:.0%} of it, "
        f"{r['rss_mib']:.0f} MiB); Kafka Streams {s['records_per_s']:,.0f} records/s ({s['rss_mib']:.0f} MiB)"
    )


def check(run: Path, n: int) -> None:
    problems = []
    p, r, s = consumer_perf(run, "perf-1"), rust_log(run, "rust-1"), streams_log(run, "streams-1")
    if p["records"] != n:
        problems.append(f"ConsumerPerformance read {p['records']} records, not {n}")
    if r["records"] != n:
        problems.append(f"bigdata-jobs stream read {r['records']} records, not {n}")
    if s["records"] != n:
        problems.append(f"Kafka Streams read {s['records']} records, not {n}")
    if s["latency_count"] != n:
        problems.append(f"Kafka Streams measured the commit latency of {s['latency_count']} records, not {n}")
    for name, value in [
        ("ConsumerPerformance records/s", p["records_per_s"]),
        ("ConsumerPerformance MB/s", p["mb_per_s"]),
        ("bigdata-jobs stream records/s", r["records_per_s"]),
        ("bigdata-jobs stream windows written", r["records_out"]),
        ("bigdata-jobs stream transactions", r["transactions"]),
        ("bigdata-jobs stream commit latency p50", r["p50_ms"]),
        ("bigdata-jobs stream commit latency p99", r["p99_ms"]),
        ("Kafka Streams records/s", s["records_per_s"]),
        ("Kafka Streams transactions", s["transactions"]),
        ("Kafka Streams commit latency p50", s["p50_ms"]),
        ("Kafka Streams commit latency p99", s["p99_ms"]),
    ] + [(f"{k} peak RSS", x["rss_mib"]) for k, x in (("ConsumerPerformance", p), ("bigdata-jobs stream", r), ("Kafka Streams", s))]:
        if not value > 0:
            problems.append(f"{name} is {value}, not positive")
    compared = (run / "compare.txt").read_text() if (run / "compare.txt").exists() else ""
    if "NO" in compared or not compared:
        problems.append(f"the outputs differ: {compared.strip()}")
    if problems:
        for problem in problems:
            print(f"stream smoke: {problem}", file=sys.stderr)
        sys.exit(1)
    summary(run, 1)
    print(
        f"stream smoke: passed ({n} events; {r['records_out']} windows, the same in both jobs; commit latency p50 "
        f"{r['p50_ms']:.0f} / {s['p50_ms']:.0f} ms, pre-filled topic)"
    )


# ------------------------------------------------------------------------------------------------- report


def fmt_int(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def report(run: Path, out: Path) -> None:
    e = env(run)
    runs = throughput_runs(run)
    if not runs:
        raise SystemExit(f"{run}: no complete throughput run")
    med = lambda key, field: statistics.median(r[key][field] for r in runs)
    ceiling = med("perf", "records_per_s")
    bytes_per_record = statistics.median(r["perf"]["mb"] * 1024 * 1024 / r["perf"]["records"] for r in runs)
    latency = []
    for label, name, kind in LATENCY_RUNS:
        if not (run / f"{name}.time").exists():
            continue
        l = rust_log(run, name) if kind == "rust" else streams_log(run, name)
        if kind == "rust":
            l.update(steady_rust(run, name))
        interval = (run / f"{name}.interval").read_text().strip()
        if interval == "default":
            interval = "100 000 records or 50 ms (default)" if kind == "rust" else "100 ms (default under EOS)"
        else:
            interval = f"{interval} ms"
        latency.append((label, name, l, generated(run, name), interval))
    lr = next(l for _, name, l, _, _ in latency if name == "lat-rust")
    ld = load(run)
    n_runs = len(runs)
    runs_note = "" if n_runs == 1 else f" (median of {n_runs} runs)"
    rust_tp, streams_tp = med("rust", "records_per_s"), med("streams", "records_per_s")
    share = rust_tp / ceiling
    first = runs[0]["rust"]

    def row(name, key, rate, txns, extra=""):
        cpu = med(key, "cpu_s")
        records = med(key, "records")
        all_runs = ", ".join(fmt_int(r[key]["records_per_s"]) for r in runs)
        return (
            f"| {name} | **{fmt_int(rate)}**{'' if n_runs == 1 else f' ({all_runs})'} | "
            f"{rate * bytes_per_record / 1e6:.1f} | {rate / ceiling:.0%} | {cpu:.1f} s | "
            f"{cpu / records * 1e6:.1f} µs | {med(key, 'rss_mib'):.0f} MiB | {txns}{extra} |"
        )

    lines = [
        f"Measured {e['date'][:10]}: {e['cpus']} cores, {e['memory_gib']} GiB, load average (1 min) "
        f"{ld['min']:.1f}–{ld['max']:.1f} (mean {ld['mean']:.1f}) during the run"
        + (
            "; busiest other processes (mean %CPU of one core): " + ", ".join(f"{k} {v:.0f}%" for k, v in busiest_others(run))
            if busiest_others(run)
            else ""
        )
        + f". Kafka {e['kafka_version']} (KRaft, one broker on 127.0.0.1, `ci/services`), "
        f"Kafka Streams {e['kafka_version']}, {e['java']}; bigdata-jobs at {e['commit']} (release build, "
        f"librdkafka {e['librdkafka']}, {e['rustc']}).",
        "",
        f"**Throughput**: {fmt_int(runs[0]['perf']['records'])} bike events ({runs[0]['perf']['mb']:.0f} MB, "
        f"{bytes_per_record:.0f} B each, {e['stations']} stations, event time 1 ms apart up to the time of the run), {e['partitions']} partitions, "
        f"each consumer over the whole topic from the beginning{runs_note}:",
        "",
        "| consumer | records/s | MB/s | vs ceiling | CPU (user+sys) | CPU per record | peak RSS | transactions |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("ConsumerPerformance (raw ceiling: no parsing, no EOS)", "perf", ceiling, "none"),
        row("bigdata-jobs stream (EOS), its defaults", "rust", rust_tp, int(med("rust", "transactions"))),
        row(
            "bigdata-jobs stream (EOS), `--commit-interval 10s` (100 000-record transactions)",
            "rust_big",
            med("rust_big", "records_per_s"),
            int(med("rust_big", "transactions")),
        ),
        row(
            "bigdata-jobs stream (EOS), `--kafka-conf fetch.queue.backoff.ms=1000` (librdkafka's default)",
            "rust_fetch",
            med("rust_fetch", "records_per_s"),
            int(med("rust_fetch", "transactions")),
        ),
        row(
            "bigdata-jobs stream (EOS), its previous defaults (10 000 records or 1 s, backoff 1000 ms)",
            "rust_old",
            med("rust_old", "records_per_s"),
            int(med("rust_old", "transactions")),
        ),
        row(
            "Kafka Streams (exactly_once_v2)",
            "streams",
            streams_tp,
            int(med("streams", "transactions")),
            f" (until committed: {fmt_int(med('streams', 'records_per_s_to_committed'))} records/s)",
        ),
        "",
        f"Outputs compared (run 1): {(run / 'compare.txt').read_text().strip() if (run / 'compare.txt').exists() else 'not compared'}.",
        "",
        f"**Latency**: {fmt_int(int(e['rate']))} events/s for {e['seconds']} s into a fresh topic while the job runs, "
        f"event time = wall clock; both jobs commit every {e['commit_interval_ms']} ms, then each with its defaults. Commit latency of a record = "
        f"the commit of the transaction that consumed it − its Kafka timestamp; \"steady\" leaves out what was "
        f"committed in the first {e['warmup']} s (the JVM's warm-up):",
        "",
        "| job | commit every | records (produced) | p50 steady | p99 steady | p50 / p99 whole run | transactions | CPU (user+sys) | peak RSS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, _, l, produced, interval in latency:
        lines.append(
            f"| {label} | {interval} | {fmt_int(l['records'])} ({fmt_int(produced['produced'])} in {produced['seconds']:.1f} s) | "
            f"{l['steady_p50_ms']:.1f} ms | **{l['steady_p99_ms']:.1f} ms** | {l['p50_ms']:.1f} / {l['p99_ms']:.1f} ms | "
            f"{l['transactions']} | {l['cpu_s']:.1f} s | {l['rss_mib']:.0f} MiB |"
        )
    p99 = lr["steady_p99_ms"]
    tuned_share = med("rust_big", "records_per_s") / ceiling
    lines += [
        "",
        f"Targets: bigdata-jobs stream at **{share:.0%}** of the raw consumer ceiling with exactly-once on "
        f"(target ≥ {TARGET_SHARE:.0%}): **{'met' if share >= TARGET_SHARE else 'not met'}** with its defaults "
        f"({tuned_share:.0%} with 100 000-record transactions: "
        f"{'met' if tuned_share >= TARGET_SHARE else 'not met'}); commit latency p99 "
        f"**{p99:.0f} ms** at {fmt_int(int(e['rate']))} events/s after the warm-up ({lr['p99_ms']:.0f} ms over the "
        f"whole run; target < {TARGET_P99_MS:.0f} ms): **{'met' if 0 <= p99 < TARGET_P99_MS else 'not met'}**.",
    ]
    if first["txn_ms"]:
        total_txn_s = sum(first["txn_ms"]) / 1000
        per_record_us = (first["busy_s"] - total_txn_s) / first["records"] * 1e6
        lines += [
            "",
            f"Where the time goes in bigdata-jobs stream (throughput run 1, from its debug lines): "
            f"{len(first['txn_ms'])} transactions of {fmt_int(statistics.median(first['txn_records']))} records; "
            f"each spends a median {statistics.median(first['txn_offsets_ms']):.0f} ms adding the offsets and "
            f"{statistics.median(first['txn_commit_ms']):.0f} ms waiting for the outputs and committing "
            f"({total_txn_s:.2f} s in all, {total_txn_s / first['busy_s']:.0%} of the {first['busy_s']:.2f} s busy time); "
            f"the rest is {per_record_us:.2f} µs per record (fetching, parsing, aggregating), against "
            f"{1e6 / ceiling:.2f} µs per record for ConsumerPerformance.",
        ]
        threads = schedstat(run / "rust-1.schedstat")
        if threads:
            main_cpu, main_wait = threads[0][1], threads[0][2]
            lines[-1] += (
                f" Its main thread (the poll-process-commit loop) was on a CPU for {main_cpu:.2f} s of its whole "
                f"life and waited {main_wait:.2f} s for one (`/proc/<pid>/task/*/schedstat`), so it was blocked for "
                f"at least {first['busy_s'] - main_cpu - main_wait:.1f} s of the {first['busy_s']:.1f} s busy time."
            )
    for kind, title in (("thread", "threads"), ("dso", "binaries"), ("sym", "symbols")):
        path = run / f"perf-{kind}.txt"
        if path.exists() and path.read_text().strip():
            rows = []
            for line in path.read_text().splitlines():
                m = re.match(r"\s*([\d.]+)%\s+(.*)$", line)
                if m and float(m.group(1)) >= (1.0 if kind == "sym" else 0.5):
                    rows.append(f"{m.group(1)}% {m.group(2).strip()}")
            if rows:
                lines += ["", f"perf, CPU samples of a separate run by {title}: " + "; ".join(f"`{r}`" for r in rows[:12]) + "."]
    text = "\n".join(lines) + "\n"
    (out / "stream.md").write_text(text)
    (out / "stream.svg").write_text(
        svg(
            [
                ("ConsumerPerformance", ceiling),
                ("bigdata-jobs stream", rust_tp),
                ("  100 000-record txns", med("rust_big", "records_per_s")),
                ("  fetch backoff 1000 ms", med("rust_fetch", "records_per_s")),
                ("  previous defaults", med("rust_old", "records_per_s")),
                ("Kafka Streams", streams_tp),
            ],
            [(short_label(name, interval), l["steady_p50_ms"], l["steady_p99_ms"]) for _, name, l, _, interval in latency],
            f"{int(e['rate']) // 1000}k events/s, after the first {e['warmup']} s",
        )
    )
    print(text)


def short_label(name: str, interval: str) -> str:
    job = "bigdata-jobs" if "rust" in name else "Kafka Streams"
    return f"{job}, {interval.split(' (')[0].replace('100 000 records or 50 ms', '50 ms')}"


def svg(throughput, latency, latency_note) -> str:
    width, left, bar_h, gap = 780, 230, 26, 12
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{{H}}" font-family="sans-serif" font-size="13">']
    y = 22
    parts.append(f'<text x="10" y="{y}" font-size="15" font-weight="bold">throughput over the whole topic (thousand records/s)</text>')
    y += 14
    top = y
    scale = (width - left - 80) / max(v for _, v in throughput)
    for (name, value), colour in zip(throughput, ("#b0b0b0", "#2b7bb9", "#9cc3e0", "#9cc3e0", "#9cc3e0", "#e08a2c")):
        parts.append(f'<text x="10" y="{y + bar_h * 0.7:.0f}" xml:space="preserve">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{left + value * scale + 6:.1f}" y="{y + bar_h * 0.7:.0f}">{value / 1000:.0f}</text>')
        y += bar_h + gap
    x = left + throughput[0][1] * TARGET_SHARE * scale
    parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#d33" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x:.1f}" y="{y + 12}" fill="#d33" text-anchor="middle">target: 70% of the ceiling</text>')
    y += 44
    parts.append(f'<text x="10" y="{y}" font-size="15" font-weight="bold">commit latency, ms ({latency_note})</text>')
    y += 14
    top = y
    # Bars longer than 5x the target are cut there (their value is written at the end).
    cap = max(TARGET_P99_MS * 1.2, min(TARGET_P99_MS * 5, max(l[2] for l in latency)))
    scale = (width - left - 80) / cap
    for name, p50, p99 in latency:
        for label, value, colour in (("p50", p50, "#9cc3e0"), ("p99", p99, "#2b7bb9")):
            shown = min(max(value, 0), cap)
            cut = " (cut)" if value > cap else ""
            parts.append(f'<text x="10" y="{y + bar_h * 0.7:.0f}">{name} {label}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{shown * scale:.1f}" height="{bar_h}" fill="{colour}"/>')
            parts.append(f'<text x="{left + shown * scale + 6:.1f}" y="{y + bar_h * 0.7:.0f}">{value:,.0f}{cut}</text>')
            y += bar_h + 4
        y += gap
    x = left + TARGET_P99_MS * scale
    parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#d33" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x:.1f}" y="{y + 12}" fill="#d33" text-anchor="middle">target: p99 under 100 ms</text>')
    y += 30
    parts.append("</svg>")
    parts[0] = parts[0].replace("{H}", str(y))
    return "\n".join(parts) + "\n"


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "report" and len(args) == 2:
        report(Path(args[0]), Path(args[1]))
    elif cmd == "summary" and len(args) == 2:
        summary(Path(args[0]), int(args[1]))
    elif cmd == "compare" and len(args) == 2:
        sys.exit(0 if compare(Path(args[0]), Path(args[1])) else 1)
    elif cmd == "check" and len(args) == 2:
        check(Path(args[0]), int(args[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
