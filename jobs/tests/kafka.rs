//! `generate` and `stream` against the REAL Kafka broker of `ci/services up kafka` (KRaft, Kafka 4.1.1).
//! The expected output is computed here, independently of the job's code, from the records as they landed
//! in the input topic's partitions (read back from Kafka).
//!
//!     ci/services up kafka && eval "$(ci/services env)"
//!     cargo test -p bigdata-jobs --test kafka -- --ignored
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bigdata_jobs::kafka;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_bigdata-jobs");

fn bootstrap() -> String {
    std::env::var("BIGDATA_KAFKA_BOOTSTRAP").unwrap_or_else(|_| {
        panic!(
            "BIGDATA_KAFKA_BOOTSTRAP is not set: start Kafka with `ci/services up kafka`, then `eval \"$(ci/services env)\"`"
        )
    })
}

fn unique(name: &str) -> String {
    format!("{name}-{:08x}", rand::random::<u32>())
}

fn create_topic(topic: &str, partitions: i32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(
        rt.block_on(kafka::ensure_topic(
            &bootstrap(),
            topic,
            partitions,
            Duration::from_secs(30)
        ))
        .unwrap(),
        "{topic} existed already"
    );
}

fn generate(topic: &str, kind: &str, count: u64, seed: u64) {
    let out = Command::new(BIN)
        .args([
            "generate",
            "--topic",
            topic,
            "--kind",
            kind,
            "--stations",
            "40",
        ])
        .args(["--count", &count.to_string(), "--seed", &seed.to_string()])
        .args(["--bootstrap-servers", &bootstrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn produce_to(topic: &str, partition: i32, payloads: &[&[u8]]) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    for payload in payloads {
        p.send(
            BaseRecord::<[u8], [u8]>::to(topic)
                .partition(partition)
                .payload(*payload),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// A record as read back: partition, offset, key, value.
#[derive(Debug, Clone)]
struct Rec {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

/// Every record of `topic` (all partitions, from the beginning up to each partition's high watermark as
/// it is when called), in offset order per partition.
fn read_all(topic: &str, isolation: &str) -> Vec<Rec> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bigdata-test-reader"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let partitions = kafka::partition_count(&c, topic, Duration::from_secs(30))
        .unwrap()
        .unwrap_or_else(|| panic!("no topic {topic}"));
    let mut tpl = TopicPartitionList::new();
    let mut ends = Vec::new();
    for p in 0..partitions as i32 {
        let (_, high) = c
            .fetch_watermarks(topic, p, Duration::from_secs(30))
            .unwrap();
        ends.push(high);
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The position moves past transaction markers too, so it reaches the high watermark.
        let positions = c.position().unwrap();
        let done = (0..partitions as i32).all(|p| {
            let end = ends[p as usize];
            end == 0
                || matches!(positions.find_partition(topic, p).map(|e| e.offset()),
                            Some(Offset::Offset(o)) if o >= end)
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "reading {topic} took too long");
        match c.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            Some(Ok(m)) => out.push(Rec {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
            }),
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    out
}

/// What the stream job must write, computed from the input as it landed: per partition, in offset order,
/// a record is late when its window ended at or before (largest event time before it - lateness); windows
/// that ended at or before (final largest event time - lateness) are written.
struct Expected {
    aggregates: BTreeMap<(String, i64), Value>,
    dead: BTreeMap<(i32, i64), String>,
}

fn expected(input: &[Rec], kind: &str, window: i64, lateness: i64) -> Expected {
    let mut aggregates = BTreeMap::new();
    let mut dead = BTreeMap::new();
    let mut by_partition: BTreeMap<i32, Vec<&Rec>> = BTreeMap::new();
    for r in input {
        by_partition.entry(r.partition).or_default().push(r);
    }
    for records in by_partition.values() {
        let mut max_ts: Option<i64> = None;
        let mut windows: BTreeMap<(String, i64), Vec<Value>> = BTreeMap::new();
        for r in records {
            let v: Option<Value> = r
                .value
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok());
            let Some(v) = v.filter(Value::is_object) else {
                dead.insert((r.partition, r.offset), "bad_json".to_string());
                continue;
            };
            let (key, ts) = match kind {
                "bikes" => (
                    v["number"].as_u64().map(|n| n.to_string()),
                    v["last_update"].as_i64(),
                ),
                _ => (
                    v["symbol"].as_str().map(str::to_string),
                    v["as_of"].as_i64(),
                ),
            };
            let complete = match kind {
                "bikes" => v["available_bikes"].is_u64(),
                _ => v["price"]["amount"].is_number() && v["volume"].is_u64(),
            };
            let (Some(key), Some(ts), true) = (key, ts, complete) else {
                dead.insert((r.partition, r.offset), "missing_field".to_string());
                continue;
            };
            let start = ts - ts.rem_euclid(window);
            if max_ts.is_some_and(|m| start + window <= m - lateness) {
                dead.insert((r.partition, r.offset), "late".to_string());
                continue;
            }
            windows.entry((key, start)).or_default().push(v);
            max_ts = Some(max_ts.map_or(ts, |m| m.max(ts)));
        }
        let Some(max_ts) = max_ts else { continue };
        for ((key, start), events) in windows {
            if start + window > max_ts - lateness {
                continue;
            }
            let n = events.len() as u64;
            let agg = match kind {
                "bikes" => {
                    let bikes: Vec<u64> = events
                        .iter()
                        .map(|e| e["available_bikes"].as_u64().unwrap())
                        .collect();
                    json!({
                        "station": key.parse::<u64>().unwrap(),
                        "window_start": start,
                        "window_end": start + window,
                        "count": n,
                        "min_available_bikes": bikes.iter().min(),
                        "max_available_bikes": bikes.iter().max(),
                        "avg_available_bikes": bikes.iter().sum::<u64>() as f64 / n as f64,
                    })
                }
                _ => {
                    let prices: Vec<f64> = events
                        .iter()
                        .map(|e| e["price"]["amount"].as_f64().unwrap())
                        .collect();
                    json!({
                        "symbol": key,
                        "window_start": start,
                        "window_end": start + window,
                        "count": n,
                        "open": prices[0],
                        "high": prices.iter().cloned().fold(f64::MIN, f64::max),
                        "low": prices.iter().cloned().fold(f64::MAX, f64::min),
                        "close": prices[prices.len() - 1],
                        "volume": events.iter().map(|e| e["volume"].as_u64().unwrap()).sum::<u64>(),
                    })
                }
            };
            assert!(aggregates.insert((key, start), agg).is_none());
        }
    }
    Expected { aggregates, dead }
}

/// The committed output as a map; panics on a duplicate (key, window).
fn output_map(topic: &str) -> BTreeMap<(String, i64), Value> {
    let mut map = BTreeMap::new();
    for r in read_all(topic, "read_committed") {
        let v: Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
        let start = v["window_start"].as_i64().unwrap();
        if let Some(prev) = map.insert((key.clone(), start), v.clone()) {
            panic!("duplicate output for {key} window {start}: {prev} and {v}");
        }
    }
    map
}

fn assert_same(got: &BTreeMap<(String, i64), Value>, want: &BTreeMap<(String, i64), Value>) {
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter_map(|(k, v)| got.get(k).filter(|g| *g != v).map(|g| (k, v, g)))
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{} aggregates, expected {}; missing {missing:?}; unexpected {extra:?}; different {differ:?}",
        got.len(),
        want.len()
    );
}

struct Stream {
    child: Child,
    metrics: String,
}

fn start_stream(input: &str, kind: &str, group: &str, instance: &str, extra: &[&str]) -> Stream {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["stream", "--input-topic", input])
        .args(["--output-topic", &format!("{input}-out")])
        .args(["--dead-letter-topic", &format!("{input}-dlq")])
        .args(["--kind", kind, "--group", group, "--instance-id", instance])
        .args(["--window", "60s", "--allowed-lateness", "10s"])
        .args(["--metrics-addr", &metrics])
        .args(["--bootstrap-servers", &bootstrap()])
        .args(extra)
        .env("RUST_LOG", "info,librdkafka=warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Stream { child, metrics }
}

impl Stream {
    fn wait(self) -> String {
        let out = self.child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "stream failed ({}): {stderr}",
            out.status
        );
        stderr
    }

    /// A metric's value (0 while the endpoint is not up yet).
    fn metric(&self, name: &str) -> i64 {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&self.metrics) else {
            return 0;
        };
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
            .sum()
    }
}

fn stream_to_completion(input: &str, kind: &str, group: &str) -> String {
    let s = start_stream(
        input,
        kind,
        group,
        "0",
        &["--stop-after-idle", "4s", "--commit-records", "2000"],
    );
    let log = s.wait();
    eprintln!(
        "{}",
        log.lines()
            .filter(|l| l.contains("stream: done"))
            .collect::<String>()
    );
    log
}

#[test]
#[ignore = "needs ci/services"]
fn bike_windows_are_exact_and_bad_records_are_dead_lettered() {
    let input = unique("bikes");
    create_topic(&input, 6);
    generate(&input, "bikes", 20_000, 7);
    // After the generated events (event time 1_700_000_000_000 + 100 ms each): malformed and late records.
    produce_to(&input, 0, &[b"{not json", b""]);
    produce_to(&input, 1, &[br#"{"number":3,"last_update":1700000000000}"#]);
    produce_to(
        &input,
        2,
        &[br#"{"number":"x","available_bikes":1,"last_update":1700000000000}"#],
    );
    produce_to(
        &input,
        3,
        &[
            br#"{"number":5,"available_bikes":2,"last_update":1700000000000}"#, // late: the first window
            br#"{"number":5,"available_bikes":2,"last_update":1700001999000}"#, // on time: an open window
        ],
    );
    stream_to_completion(&input, "bikes", &unique("g"));

    let records = read_all(&input, "read_uncommitted");
    assert_eq!(records.len(), 20_006);
    let want = expected(&records, "bikes", 60_000, 10_000);
    assert!(want.aggregates.len() > 500, "{}", want.aggregates.len());
    assert_same(&output_map(&format!("{input}-out")), &want.aggregates);

    let dead = read_all(&format!("{input}-dlq"), "read_committed");
    let mut got = BTreeMap::new();
    for d in &dead {
        let v: Value = serde_json::from_slice(d.value.as_deref().unwrap()).unwrap();
        assert_eq!(v["topic"], input.as_str());
        let (p, o) = (
            v["partition"].as_i64().unwrap() as i32,
            v["offset"].as_i64().unwrap(),
        );
        let original = records
            .iter()
            .find(|r| r.partition == p && r.offset == o)
            .unwrap();
        assert_eq!(
            v["payload"].as_str().unwrap_or_default().as_bytes(),
            original.value.as_deref().unwrap_or_default(),
            "{v}"
        );
        let reason = v["reason"].as_str().unwrap().to_string();
        assert!(
            got.insert((p, o), reason).is_none(),
            "dead-lettered twice: {v}"
        );
    }
    // The reference lumps malformed records into two classes; the job is more precise.
    fn coarse(r: &str) -> &str {
        match r {
            "empty" | "bad_json" => "bad_json",
            "missing_field" | "invalid_field" => "missing_field",
            other => other,
        }
    }
    let got_coarse: BTreeMap<_, _> = got
        .iter()
        .map(|(k, v)| (*k, coarse(v).to_string()))
        .collect();
    assert_eq!(got_coarse, want.dead);
    assert_eq!(
        got.values().map(String::as_str).collect::<Vec<_>>(),
        [
            "bad_json",
            "empty",
            "missing_field",
            "invalid_field",
            "late"
        ]
    );
}

#[test]
#[ignore = "needs ci/services"]
fn stock_ohlc_windows_are_exact() {
    let input = unique("stocks");
    create_topic(&input, 6);
    generate(&input, "stocks", 8_000, 11);
    stream_to_completion(&input, "stocks", &unique("g"));
    let records = read_all(&input, "read_uncommitted");
    let want = expected(&records, "stocks", 60_000, 10_000);
    assert!(want.aggregates.len() >= 40, "{}", want.aggregates.len());
    assert!(want.dead.is_empty());
    assert_same(&output_map(&format!("{input}-out")), &want.aggregates);
}

/// kill -9 in the middle of a run (with transactions committed and one open), then a restart of the same
/// instance: the committed output is still exactly the reference: nothing lost, nothing twice.
#[test]
#[ignore = "needs ci/services"]
fn kill_9_and_restart_gives_exactly_the_reference() {
    let input = unique("bikes-kill");
    create_topic(&input, 6);
    generate(&input, "bikes", 60_000, 3);
    let group = unique("g");
    for round in 0..2 {
        let mut s = start_stream(&input, "bikes", &group, "0", &["--commit-records", "500"]);
        let deadline = Instant::now() + Duration::from_secs(120);
        // Kill once this run has committed a few transactions and read more.
        while s.metric("bigdata_stream_transactions_committed_total") < 3 + round * 3 {
            assert!(Instant::now() < deadline, "the stream made no progress");
            if let Some(status) = s.child.try_wait().unwrap() {
                let out = s.child.wait_with_output().unwrap();
                panic!(
                    "the stream ended early ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let done = s.metric("bigdata_stream_records_in_total");
        s.child.kill().unwrap(); // SIGKILL
        let status = s.child.wait().unwrap();
        eprintln!("round {round}: killed ({status}) after {done} records");
        let partial = output_map(&format!("{input}-out"));
        eprintln!(
            "round {round}: {} aggregates committed so far",
            partial.len()
        );
    }
    let log = stream_to_completion(&input, "bikes", &group);
    assert!(
        log.contains(r#""checkpoint":"bigdata-stream/v1"#),
        "the restart did not restore: {log}"
    );
    let records = read_all(&input, "read_uncommitted");
    let want = expected(&records, "bikes", 60_000, 10_000);
    assert_same(&output_map(&format!("{input}-out")), &want.aggregates);
    assert!(read_all(&format!("{input}-dlq"), "read_committed").is_empty());
}

/// Two instances of one group: the second joins mid-run, partitions move (the first commits before it
/// gives them up), and the output is still exact.
#[test]
#[ignore = "needs ci/services"]
fn a_rebalance_mid_run_keeps_the_output_exact() {
    let input = unique("bikes-rebalance");
    create_topic(&input, 6);
    // The input arrives while the instances run: 40 000 events at 8 000 a second.
    let mut generator = Command::new(BIN)
        .args([
            "generate",
            "--topic",
            &input,
            "--kind",
            "bikes",
            "--stations",
            "40",
        ])
        .args(["--count", "40000", "--seed", "5", "--rate", "8000"])
        .args(["--bootstrap-servers", &bootstrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let group = unique("g");
    let args = [
        "--stop-after-idle",
        "5s",
        "--commit-records",
        "500",
        "--session-timeout",
        "10s",
    ];
    let a = start_stream(&input, "bikes", &group, "a", &args);
    let deadline = Instant::now() + Duration::from_secs(120);
    while a.metric("bigdata_stream_transactions_committed_total") < 3 {
        assert!(Instant::now() < deadline, "the stream made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let b = start_stream(&input, "bikes", &group, "b", &args);
    assert!(generator.wait().unwrap().success());
    let (log_a, log_b) = (a.wait(), b.wait());
    assert!(log_a.contains("partitions revoked"), "{log_a}");
    eprintln!(
        "{}",
        log_b
            .lines()
            .filter(|l| l.contains("stream: done"))
            .collect::<String>()
    );
    let records = read_all(&input, "read_uncommitted");
    assert_eq!(records.len(), 40_000);
    let want = expected(&records, "bikes", 60_000, 10_000);
    assert_same(&output_map(&format!("{input}-out")), &want.aggregates);
}
