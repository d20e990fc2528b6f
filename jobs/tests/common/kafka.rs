//! Kafka and `stream` helpers of the tests that use the real Kafka of `ci/services up kafka`: topics, the
//! `generate` and `stream` binaries, reading topics back, and the reference of what `stream` must write.
//!
//! The binaries are started without `BIGDATA_SCHEMA_REGISTRY_URL` (which `ci/services env` exports): a test
//! that wants a schema registry passes `--schema-registry` itself.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bigdata_jobs::kafka;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_bigdata-jobs");
/// The variable of `--schema-registry`, removed from the binaries' environment.
pub const REGISTRY_VAR: &str = "BIGDATA_SCHEMA_REGISTRY_URL";

/// Kafka's bootstrap address (see [`super::services::kafka_bootstrap`]).
pub fn bootstrap() -> String {
    super::services::kafka_bootstrap()
}

pub fn unique(name: &str) -> String {
    format!("{name}-{:08x}", rand::random::<u32>())
}

pub fn create_topic(topic: &str, partitions: i32) {
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

pub fn generate(topic: &str, kind: &str, count: u64, seed: u64) {
    generate_with(topic, kind, count, seed, &[]);
}

pub fn generate_with(topic: &str, kind: &str, count: u64, seed: u64, extra: &[&str]) {
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
        .args(extra)
        .env_remove(REGISTRY_VAR)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn produce_to(topic: &str, partition: i32, payloads: &[&[u8]]) {
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
pub struct Rec {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Every record of `topic` (all partitions, from the beginning up to each partition's high watermark as
/// it is when called), in offset order per partition.
pub fn read_all(topic: &str, isolation: &str) -> Vec<Rec> {
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
pub struct Expected {
    pub aggregates: BTreeMap<(String, i64), Value>,
    pub dead: BTreeMap<(i32, i64), String>,
}

pub fn expected(input: &[Rec], kind: &str, window: i64, lateness: i64) -> Expected {
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
pub fn output_map(topic: &str) -> BTreeMap<(String, i64), Value> {
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

pub fn assert_same(got: &BTreeMap<(String, i64), Value>, want: &BTreeMap<(String, i64), Value>) {
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

pub struct Stream {
    pub child: Child,
    pub metrics: String,
}

pub fn start_stream(
    input: &str,
    kind: &str,
    group: &str,
    instance: &str,
    extra: &[&str],
) -> Stream {
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
        .env_remove(REGISTRY_VAR)
        .env("RUST_LOG", "info,librdkafka=warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Stream { child, metrics }
}

impl Stream {
    pub fn wait(self) -> String {
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
    pub fn metric(&self, name: &str) -> i64 {
        self.metrics(&[name])[0]
    }

    /// The /metrics response (empty while the endpoint is not up yet).
    pub fn scrape(&self) -> String {
        use std::io::{Read, Write};
        let mut body = String::new();
        if let Ok(mut s) = std::net::TcpStream::connect(&self.metrics) {
            let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
            let _ = s.read_to_string(&mut body);
        }
        body
    }

    /// Several metrics' values from one scrape (0s while the endpoint is not up yet).
    pub fn metrics(&self, names: &[&str]) -> Vec<i64> {
        let body = self.scrape();
        names
            .iter()
            .map(|name| {
                body.lines()
                    .filter(|l| l.starts_with(name) && !l.starts_with('#'))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
                    .sum()
            })
            .collect()
    }
}

pub fn stream_to_completion(input: &str, kind: &str, group: &str) -> String {
    stream_to_completion_with(input, kind, group, &[])
}

pub fn stream_to_completion_with(input: &str, kind: &str, group: &str, extra: &[&str]) -> String {
    let mut args = vec!["--stop-after-idle", "4s", "--commit-records", "2000"];
    args.extend_from_slice(extra);
    let s = start_stream(input, kind, group, "0", &args);
    let log = s.wait();
    eprintln!(
        "{}",
        log.lines()
            .filter(|l| l.contains("stream: done"))
            .collect::<String>()
    );
    log
}

/// The `stream: done` log line's field.
pub fn done_field(log: &str, field: &str) -> i64 {
    let line = log
        .lines()
        .find(|l| l.contains("stream: done"))
        .unwrap_or_else(|| panic!("no `stream: done` line: {log}"));
    let v: Value = serde_json::from_str(line).unwrap();
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field}: {line}"))
}
