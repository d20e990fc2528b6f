//! Avro and JSON Schema through a schema registry: `generate --format avro|json-schema` and
//! `stream --schema-registry` against the REAL Kafka and the REAL schema registry (Apicurio Registry, Confluent's REST API at /apis/ccompat/v7) of
//! `ci/services up registry`. What the jobs wrote is read back from Kafka and checked here: the framing
//! and the schema through the registry's own API, the Avro datums decoded here with the registry's schema,
//! and the stream's output against the stream of the same events as JSON (and the reference computed from
//! them). `avro_input_lands_as_the_same_json_lines` also uses the real HDFS of `ci/hdfs up`.
//!
//!     ci/services up registry && eval "$(ci/services env)"
//!     cargo test -p bigdata-jobs --test registry -- --ignored
mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as Avro;
use bigdata_jobs::events::{EventKind, Generator};
use common::kafka::*;
use common::landing::*;
use common::services::schema_registry_url;
use serde_json::{Value, json};

/// The first event time of `generate` (its default) and the time between two events.
const START_MS: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 100;
/// A schema id no registry of the tests hands out.
const UNKNOWN_ID: u32 = 0x7fff_fff0;
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

// ------------------------------------------------------------------------------------------------ helpers

/// GET `<registry>/<path>` through the registry's API: the JSON answer.
fn registry_get(path: &str) -> Value {
    let url = format!("{}/{path}", schema_registry_url());
    let text = ureq::get(&url)
        .header("Accept", CONTENT_TYPE)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .into_body()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Registers `schema` of type `schema_type` (the API's name: AVRO, JSON, PROTOBUF) under `subject`
/// through the registry's API; its id.
fn registry_register(subject: &str, schema_type: &str, schema: &str) -> u32 {
    let url = format!("{}/subjects/{subject}/versions", schema_registry_url());
    let text = ureq::post(&url)
        .header("Content-Type", CONTENT_TYPE)
        .send(json!({ "schema": schema, "schemaType": schema_type }).to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
        .into_body()
        .read_to_string()
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["id"].as_u64().unwrap() as u32
}

/// The latest schema of `<topic>-value`: its id and its text.
fn latest_value_schema(topic: &str) -> (u32, String) {
    let v = registry_get(&format!("subjects/{topic}-value/versions/latest"));
    (
        v["id"].as_u64().unwrap() as u32,
        v["schema"].as_str().unwrap().to_string(),
    )
}

/// A value in the Confluent wire format: the schema id and the datum (panics on anything else).
fn unframe(value: &[u8]) -> (u32, &[u8]) {
    assert!(value.len() >= 5, "{value:?} is shorter than the header");
    assert_eq!(value[0], 0, "no magic byte: {value:?}");
    (
        u32::from_be_bytes(value[1..5].try_into().unwrap()),
        &value[5..],
    )
}

fn frame(id: u32, datum: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(datum);
    v
}

/// Decodes a whole datum with `schema` (no reader schema), as JSON.
fn decode(schema: &Schema, datum: &[u8]) -> Value {
    let mut rest = datum;
    let value = GenericDatumReader::builder(schema)
        .build()
        .unwrap()
        .read_value(&mut rest)
        .unwrap();
    assert!(rest.is_empty(), "{} bytes after the datum", rest.len());
    avro_to_json(value)
}

fn avro_to_json(value: Avro) -> Value {
    match value {
        Avro::Long(n) => n.into(),
        Avro::Int(n) => n.into(),
        Avro::Double(d) => json!(d),
        Avro::String(s) => s.into(),
        Avro::Record(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, avro_to_json(v)))
                .collect(),
        ),
        other => panic!("not in the demo events' schemas: {other:?}"),
    }
}

/// The events `generate` makes with these settings (and the tests' 40 stations), as JSON, sorted.
fn generated_events(kind: EventKind, seed: u64, count: usize) -> Vec<Value> {
    let mut g = Generator::new(kind, seed, 40, START_MS, STEP_MS);
    sorted((0..count).map(|_| serde_json::from_str(&g.next_json()).unwrap()))
}

fn sorted(values: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut v: Vec<Value> = values.into_iter().collect();
    v.sort_by_cached_key(Value::to_string);
    v
}

/// The 1 500 records of `topic` (generated with seed 5) are all framed with schema `id`, keyed by the
/// station number or symbol; their payloads, read with `read`, are exactly the generated events.
fn assert_framed_events(topic: &str, kind: &str, id: u32, read: impl Fn(&[u8]) -> Value) {
    let records = read_all(topic, "read_uncommitted");
    assert_eq!(records.len(), 1_500);
    let mut events = Vec::new();
    for r in &records {
        let (frame_id, payload) = unframe(r.value.as_deref().unwrap());
        assert_eq!(
            frame_id, id,
            "{kind}: partition {} offset {}",
            r.partition, r.offset
        );
        let event = read(payload);
        let key = match kind {
            "bikes" => event["number"].to_string(),
            _ => event["symbol"].as_str().unwrap().to_string(),
        };
        assert_eq!(r.key.as_deref(), Some(key.as_bytes()));
        events.push(event);
    }
    assert_eq!(
        sorted(events),
        generated_events(kind_of(kind), 5, 1_500),
        "{kind}"
    );
}

fn kind_of(kind: &str) -> EventKind {
    match kind {
        "bikes" => EventKind::Bikes,
        _ => EventKind::Stocks,
    }
}

/// `generate --format FORMAT` (avro, json-schema) with the registry.
fn generate_framed(format: &str, topic: &str, kind: &str, count: u64, seed: u64, extra: &[&str]) {
    let url = schema_registry_url();
    let mut args = vec!["--format", format, "--schema-registry", &url];
    args.extend_from_slice(extra);
    generate_with(topic, kind, count, seed, &args);
}

/// `generate --format avro` with the registry.
fn generate_avro(topic: &str, kind: &str, count: u64, seed: u64, extra: &[&str]) {
    generate_framed("avro", topic, kind, count, seed, extra);
}

/// The same events as JSON in one topic and as Avro in another (both with `partitions` partitions): the
/// records land in the same partitions at the same offsets.
fn twin_topics(name: &str, kind: &str, partitions: i32, count: u64, seed: u64) -> (String, String) {
    twin_topics_as("avro", name, kind, partitions, count, seed)
}

/// The same events as JSON in one topic and in `format` (avro, json-schema) in another.
fn twin_topics_as(
    format: &str,
    name: &str,
    kind: &str,
    partitions: i32,
    count: u64,
    seed: u64,
) -> (String, String) {
    let (json, framed) = (
        unique(&format!("{name}-json")),
        unique(&format!("{name}-{format}")),
    );
    create_topic(&json, partitions);
    create_topic(&framed, partitions);
    generate_with(&json, kind, count, seed, &[]);
    generate_framed(format, &framed, kind, count, seed, &[]);
    (json, framed)
}

fn with_registry(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--schema-registry".to_string(), schema_registry_url()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn stream_with_registry(input: &str, kind: &str, group: &str, extra: &[&str]) -> String {
    let args = with_registry(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stream_to_completion_with(input, kind, group, &args)
}

/// A dead letter as read back.
#[derive(Debug)]
struct DeadLetter {
    reason: String,
    detail: String,
    /// The original value: `payload`, or `payload_base64` decoded.
    base64: Option<String>,
    payload: Option<String>,
}

/// The committed dead letters of `topic`, by the input partition and offset they name.
fn dead_letters(topic: &str, input: &str) -> BTreeMap<(i32, i64), DeadLetter> {
    let mut out = BTreeMap::new();
    for r in read_all(topic, "read_committed") {
        let v: Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        assert_eq!(v["topic"], input);
        let at = (
            v["partition"].as_i64().unwrap() as i32,
            v["offset"].as_i64().unwrap(),
        );
        let letter = DeadLetter {
            reason: v["reason"].as_str().unwrap().to_string(),
            detail: v["detail"].as_str().unwrap().to_string(),
            base64: v["payload_base64"].as_str().map(str::to_string),
            payload: v["payload"].as_str().map(str::to_string),
        };
        assert!(out.insert(at, letter).is_none(), "dead-lettered twice: {v}");
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_bin(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .env_remove(REGISTRY_VAR)
        .env_remove("BIGDATA_GENERATE_TOPIC")
        .output()
        .unwrap();
    eprintln!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

// ------------------------------------------------------------------------------------------------ generate

/// Every value `generate --format avro` wrote is framed with the id the registry holds for `<topic>-value`;
/// that schema is ours (the JSON field names, in namespace `bigdata`); the datums, decoded here with the
/// registry's schema, are exactly the generated events; the keys are unchanged. Registering again (another
/// run, another topic) gives the same id.
#[test]
#[ignore = "needs ci/services up registry"]
fn generate_avro_frames_every_value_with_the_registered_schema() {
    for (kind, record) in [
        ("bikes", "bigdata.StationStatus"),
        ("stocks", "bigdata.StockTick"),
    ] {
        let topic = unique(&format!("avro-{kind}"));
        create_topic(&topic, 3);
        generate_avro(&topic, kind, 1_500, 5, &[]);

        let (id, text) = latest_value_schema(&topic);
        let schema = Schema::parse_str(&text).unwrap();
        assert_eq!(schema.name().unwrap().fullname(None), record);
        let ours = Schema::parse_str(bigdata_jobs::avro::schema_json(kind_of(kind))).unwrap();
        assert_eq!(schema.canonical_form(), ours.canonical_form(), "{kind}");
        let by_id = registry_get(&format!("schemas/ids/{id}"));
        assert_eq!(
            Schema::parse_str(by_id["schema"].as_str().unwrap())
                .unwrap()
                .canonical_form(),
            ours.canonical_form()
        );

        assert_framed_events(&topic, kind, id, |datum| decode(&schema, datum));

        let again = unique(&format!("avro-{kind}-again"));
        create_topic(&again, 1);
        generate_avro(&again, kind, 3, 6, &[]);
        assert_eq!(latest_value_schema(&again).0, id);
        for r in read_all(&again, "read_uncommitted") {
            assert_eq!(unframe(r.value.as_deref().unwrap()).0, id);
        }
        eprintln!("{kind}: 1500 values framed with schema {id} ({record})");
    }
}

/// `--format avro` (or json-schema) without `--topic` or without a registry is a usage error naming the flag
/// (exit 2), so is
/// an https registry; a registry that does not answer fails the run naming the subject and the URL (exit 1).
/// No services needed.
#[test]
fn generate_avro_usage_errors_and_an_unreachable_registry() {
    let out = run_bin(&["generate", "--format", "avro", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--format avro needs --topic"), "{stderr}");

    let out = run_bin(&["generate", "--format", "avro", "--topic", "t"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("--format avro needs --schema-registry URL (or BIGDATA_SCHEMA_REGISTRY_URL)"),
        "{stderr}"
    );

    let out = run_bin(&[
        "generate",
        "--format",
        "avro",
        "--topic",
        "t",
        "--schema-registry",
        "https://registry/apis/ccompat/v7",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https is not supported"));

    let url = format!("http://127.0.0.1:{}/apis/ccompat/v7", closed_port());
    let out = run_bin(&[
        "generate",
        "--format",
        "avro",
        "--topic",
        "t",
        "--schema-registry",
        &url,
        "--bootstrap-servers",
        "127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "failed to register a schema under the subject t-value at {url}/subjects/t-value/versions: no answer"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // --format json-schema needs the same.
    let out = run_bin(&["generate", "--format", "json-schema", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--format json-schema needs --topic"),
        "{stderr}"
    );
    let out = run_bin(&["generate", "--format", "json-schema", "--topic", "t"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--format json-schema needs --schema-registry URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // JSON to stdout is unchanged by a registry setting.
    let out = run_bin(&["generate", "--count", "2", "--schema-registry", &url]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

// ------------------------------------------------------------------------------------------------ stream

/// The same events as Avro and as JSON (same seed, same partitions): `stream` gives exactly the same
/// windows, equal to the reference computed from the JSON input, with no dead letter.
#[test]
#[ignore = "needs ci/services up registry"]
fn avro_and_json_inputs_give_the_same_windows() {
    streams_like_json("avro", 17);
}

/// The same events (both kinds) as JSON in one topic and in `format` in another (seed `seed`, 6 partitions
/// each): `stream` writes exactly the same windows for both, equal to the reference computed from the JSON
/// input, with the same records in and out and no dead letter.
fn streams_like_json(format: &str, seed: u64) {
    for (kind, count) in [("bikes", 12_000), ("stocks", 6_000)] {
        let (json, framed) = twin_topics_as(format, kind, kind, 6, count, seed);
        let json_log = stream_with_registry(&json, kind, &unique("g"), &[]);
        let framed_log = stream_with_registry(&framed, kind, &unique("g"), &[]);

        let want = expected(&read_all(&json, "read_uncommitted"), kind, 60_000, 10_000);
        assert!(want.aggregates.len() >= 30, "{}", want.aggregates.len());
        let from_json = output_map(&format!("{json}-out"));
        let from_framed = output_map(&format!("{framed}-out"));
        assert_same(&from_json, &want.aggregates);
        assert_same(&from_framed, &from_json);
        assert!(read_all(&format!("{framed}-dlq"), "read_committed").is_empty());
        for field in ["records_in", "records_out"] {
            assert_eq!(
                done_field(&framed_log, field),
                done_field(&json_log, field),
                "{field}"
            );
        }
        assert_eq!(done_field(&framed_log, "dead_lettered"), 0);
        eprintln!(
            "{kind}: {} windows from {count} {format} events, as from JSON",
            from_framed.len()
        );
    }
}

/// Framed records that cannot be read go to the dead-letter topic, with their original bytes: an id the
/// registry does not know (unknown_schema); a truncated datum, a datum with bytes after it, garbage, a
/// value shorter than the header, and the schema of another event (bad_avro). The windows are those of
/// the events alone.
#[test]
#[ignore = "needs ci/services up registry"]
fn unknown_ids_and_corrupt_avro_are_dead_lettered() {
    let (json, avro) = twin_topics("bad-avro", "bikes", 3, 6_000, 21);
    let (id, _) = latest_value_schema(&avro);
    let first = read_all(&avro, "read_uncommitted")[0]
        .value
        .clone()
        .unwrap();
    let datum = unframe(&first).1.to_vec();
    let stocks_id = registry_register(
        &format!("{}-ticks-value", unique("other")),
        "AVRO",
        bigdata_jobs::avro::STOCK_TICK_SCHEMA,
    );
    assert_ne!(stocks_id, id);
    let mut longer = datum.clone();
    longer.extend_from_slice(&[1, 2, 3]);
    let bad: [(i32, Vec<u8>, &str); 6] = [
        (0, frame(UNKNOWN_ID, &datum), "unknown_schema"),
        (1, frame(id, &datum[..datum.len() - 2]), "bad_avro"),
        (1, frame(id, &longer), "bad_avro"),
        (2, frame(id, &[2, 3, b'a']), "bad_avro"),
        (2, vec![0, 0, 1], "bad_avro"),
        (0, frame(stocks_id, &datum), "bad_avro"),
    ];
    for (partition, value, _) in &bad {
        produce_to(&avro, *partition, &[value.as_slice()]);
    }

    let log = stream_with_registry(&avro, "bikes", &unique("g"), &[]);

    let records = read_all(&avro, "read_uncommitted");
    assert_eq!(records.len(), 6_006);
    // The bad records are the last ones of their partitions, in the order produced.
    let mut want_dead = BTreeMap::new();
    for (i, (partition, value, reason)) in bad.iter().enumerate() {
        let later = bad[i + 1..].iter().filter(|b| b.0 == *partition).count();
        let ends: Vec<&Rec> = records
            .iter()
            .filter(|r| r.partition == *partition)
            .collect();
        let r = ends[ends.len() - 1 - later];
        assert_eq!(r.value.as_deref(), Some(value.as_slice()));
        want_dead.insert((r.partition, r.offset), (*reason, value.clone()));
    }
    let got = dead_letters(&format!("{avro}-dlq"), &avro);
    assert_eq!(
        got.iter()
            .map(|(k, d)| (*k, d.reason.as_str()))
            .collect::<Vec<_>>(),
        want_dead
            .iter()
            .map(|(k, (r, _))| (*k, *r))
            .collect::<Vec<_>>()
    );
    for (at, (_, value)) in &want_dead {
        let d = &got[at];
        assert_eq!(d.payload, None, "{d:?}");
        assert_eq!(d.base64.as_deref(), Some(base64(value).as_str()), "{d:?}");
    }
    let detail = |at: usize| {
        let (partition, value, _) = &bad[at];
        let key = want_dead
            .iter()
            .find(|(k, (_, v))| k.0 == *partition && v == value)
            .unwrap()
            .0;
        got[key].detail.clone()
    };
    assert!(
        detail(0).contains(&format!(
            "the schema id {UNKNOWN_ID} is not in the registry"
        )),
        "{}",
        detail(0)
    );
    assert!(detail(2).contains("3 bytes left after it"), "{}", detail(2));
    assert!(
        detail(4).contains("fewer than the header's 5"),
        "{}",
        detail(4)
    );
    assert!(
        detail(5).starts_with(&format!(
            "schema {stocks_id}: failed to use the writer schema for bigdata.StationStatus"
        )),
        "{}",
        detail(5)
    );
    assert_eq!(done_field(&log, "dead_lettered"), 6);

    let want = expected(
        &read_all(&json, "read_uncommitted"),
        "bikes",
        60_000,
        10_000,
    );
    assert_same(&output_map(&format!("{avro}-out")), &want.aggregates);
}

/// Without `--schema-registry`, framed records are dead letters (unknown_schema, saying so); the JSON
/// events of the same topic are windowed as usual.
#[test]
#[ignore = "needs ci/services up registry"]
fn without_a_registry_framed_records_are_unknown_schema() {
    let input = unique("no-registry");
    create_topic(&input, 3);
    generate_with(&input, "bikes", 4_000, 31, &[]);
    let later = (START_MS + 4_000 * STEP_MS).to_string();
    generate_avro(&input, "bikes", 200, 32, &["--start-ms", &later]);

    let log = stream_to_completion_with(&input, "bikes", &unique("g"), &[]);

    let records = read_all(&input, "read_uncommitted");
    let framed: Vec<(i32, i64)> = records
        .iter()
        .filter(|r| r.value.as_deref().is_some_and(|v| v.first() == Some(&0)))
        .map(|r| (r.partition, r.offset))
        .collect();
    assert_eq!(framed.len(), 200);
    let got = dead_letters(&format!("{input}-dlq"), &input);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), framed);
    for d in got.values() {
        assert_eq!(d.reason, "unknown_schema");
        assert!(
            d.detail.contains("no --schema-registry is set"),
            "{}",
            d.detail
        );
    }
    assert_eq!(done_field(&log, "dead_lettered"), 200);
    // The reference takes the Avro values for malformed JSON: the windows of the JSON events alone.
    let want = expected(&records, "bikes", 60_000, 10_000);
    assert_same(&output_map(&format!("{input}-out")), &want.aggregates);
}

/// One topic with JSON events and then Avro events streams like the same events all in JSON.
#[test]
#[ignore = "needs ci/services up registry"]
fn a_topic_of_json_and_avro_events_streams_like_all_json() {
    let (mixed, json) = (unique("mixed"), unique("mixed-json"));
    let later = (START_MS + 5_000 * STEP_MS).to_string();
    for topic in [&mixed, &json] {
        create_topic(topic, 4);
        generate_with(topic, "stocks", 5_000, 41, &[]);
    }
    generate_avro(&mixed, "stocks", 5_000, 42, &["--start-ms", &later]);
    generate_with(&json, "stocks", 5_000, 42, &["--start-ms", &later]);

    stream_with_registry(&mixed, "stocks", &unique("g"), &[]);

    let want = expected(
        &read_all(&json, "read_uncommitted"),
        "stocks",
        60_000,
        10_000,
    );
    assert!(want.dead.is_empty());
    assert_same(&output_map(&format!("{mixed}-out")), &want.aggregates);
    assert!(read_all(&format!("{mixed}-dlq"), "read_committed").is_empty());
}

/// A registry that does not answer, or a URL that is not a registry's API (a 404 that is not "schema not
/// found"), fails the stream (exit 1, naming the URL) before anything is committed or dead-lettered; the
/// next run with the registry, same group, writes exactly the reference.
#[test]
#[ignore = "needs ci/services up registry"]
fn a_registry_that_fails_stops_the_stream_and_loses_nothing() {
    let (json, avro) = twin_topics("registry-down", "bikes", 3, 5_000, 51);
    let group = unique("g");
    let registry = schema_registry_url();
    let base = registry.trim_end_matches("/apis/ccompat/v7");
    for (url, says) in [
        (
            format!("http://127.0.0.1:{}/apis/ccompat/v7", closed_port()),
            "no answer".to_string(),
        ),
        (format!("{base}/apis/nothing"), "HTTP 404".to_string()),
    ] {
        let s = start_stream(
            &avro,
            "bikes",
            &group,
            "0",
            &["--stop-after-idle", "4s", "--schema-registry", &url],
        );
        let out = s.child.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(
            log.contains(&format!("failed to decode {avro}/"))
                && log.contains("failed to fetch the schema "),
            "{log}"
        );
        assert!(log.contains(&format!("at {url}/schemas/ids/")), "{log}");
        assert!(log.contains(&says), "{log}");
        assert!(output_map(&format!("{avro}-out")).is_empty());
        assert!(read_all(&format!("{avro}-dlq"), "read_committed").is_empty());
    }
    stream_with_registry(&avro, "bikes", &group, &[]);
    let want = expected(
        &read_all(&json, "read_uncommitted"),
        "bikes",
        60_000,
        10_000,
    );
    assert_same(&output_map(&format!("{avro}-out")), &want.aggregates);
    assert!(read_all(&format!("{avro}-dlq"), "read_committed").is_empty());
}

/// `stream --land-dir` over Avro input lands JSON lines: exactly those that landing the same events as
/// JSON lands (same partitions, same offsets, same file names), once each.
#[test]
#[ignore = "needs ci/services up registry and ci/hdfs"]
fn avro_input_lands_as_the_same_json_lines() {
    let url = common::services::hdfs_url();
    let dir = common::unique_dir("land-avro");
    let (json, avro) = (unique("land-json"), unique("land-avro"));
    let start = LAND_START_MS.to_string();
    create_topic(&json, 3);
    create_topic(&avro, 3);
    generate_with(&json, "bikes", 8_000, 61, &["--start-ms", &start]);
    generate_avro(&avro, "bikes", 8_000, 61, &["--start-ms", &start]);

    let land_dir = format!("{url}{dir}/bikes");
    let log = stream_with_registry(&avro, "bikes", &unique("g"), &["--land-dir", &land_dir]);

    let records = read_all(&json, "read_uncommitted");
    let want = expected(&records, "bikes", 60_000, 10_000);
    let valid = valid_lines(&records, &want);
    assert_eq!(valid.len(), 8_000);
    let landing = read_landing(&url, &format!("{dir}/bikes"), &valid);
    let missing = valid
        .keys()
        .filter(|l| !landing.lines.contains_key(*l))
        .count();
    assert_eq!(missing, 0, "{missing} events were not landed");
    assert!(landing.lines.values().all(|n| *n == 1));
    assert_eq!(landing.lines.len(), valid.len());
    assert!(landing.hidden.is_empty(), "left: {:?}", landing.hidden);
    assert_eq!(done_field(&log, "landed_records"), 8_000);
    assert_same(&output_map(&format!("{avro}-out")), &want.aggregates);
    delete_hdfs_dir(&url, &dir);
}

/// `stream --schema-registry` with an https URL is a usage error (exit 2). No services needed.
#[test]
fn stream_refuses_an_https_registry() {
    let out = run_bin(&[
        "stream",
        "--input-topic",
        "in",
        "--output-topic",
        "out",
        "--dead-letter-topic",
        "dlq",
        "--kind",
        "bikes",
        "--group",
        "g",
        "--schema-registry",
        "https://registry:8080/apis/ccompat/v7",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("https is not supported"), "{stderr}");
}

// ------------------------------------------------------------------------------------------------ JSON Schema

/// Every value `generate --format json-schema` wrote is framed with the id the registry holds for
/// `<topic>-value`, a schema of type JSON that is ours; the payloads are exactly the generated events' JSON;
/// the keys are unchanged.
#[test]
#[ignore = "needs ci/services up registry"]
fn generate_json_schema_frames_every_value_with_the_registered_schema() {
    for (kind, title) in [("bikes", "StationStatus"), ("stocks", "StockTick")] {
        let topic = unique(&format!("json-schema-{kind}"));
        create_topic(&topic, 3);
        generate_framed("json-schema", &topic, kind, 1_500, 5, &[]);

        let latest = registry_get(&format!("subjects/{topic}-value/versions/latest"));
        assert_eq!(latest["schemaType"], "JSON", "{latest}");
        let id = latest["id"].as_u64().unwrap() as u32;
        let schema: Value = serde_json::from_str(latest["schema"].as_str().unwrap()).unwrap();
        let ours: Value =
            serde_json::from_str(bigdata_jobs::json_schema::schema_json(kind_of(kind))).unwrap();
        assert_eq!(schema, ours, "{kind}");
        assert_eq!(schema["title"], title);
        let by_id = registry_get(&format!("schemas/ids/{id}"));
        assert_eq!(by_id["schemaType"], "JSON", "{by_id}");

        assert_framed_events(&topic, kind, id, |payload| {
            serde_json::from_slice(payload).unwrap()
        });
        eprintln!("{kind}: 1500 values framed with JSON Schema {id} ({title})");
    }
}

/// The same events in JSON Schema and as plain JSON (same seed, same partitions): `stream` gives exactly
/// the same windows, equal to the reference computed from the JSON input, with no dead letter.
#[test]
#[ignore = "needs ci/services up registry"]
fn json_schema_and_json_inputs_give_the_same_windows() {
    streams_like_json("json-schema", 23);
}

/// JSON Schema values that cannot be used are dead letters with their original bytes: a JSON Schema of
/// another event (bad_json_schema), a schema of a type stream does not read (a Protobuf schema:
/// unknown_schema), a payload that is not JSON (bad_json) or lacks a field (missing_field). The windows
/// are those of the events alone.
#[test]
#[ignore = "needs ci/services up registry"]
fn json_schema_values_that_cannot_be_used_are_dead_lettered() {
    let (json, framed) = twin_topics_as("json-schema", "bad-json-schema", "bikes", 3, 4_000, 27);
    let first = read_all(&framed, "read_uncommitted")[0]
        .value
        .clone()
        .unwrap();
    let (id, payload) = unframe(&first);
    let payload = payload.to_vec();
    let stocks_id = registry_register(
        &format!("{}-ticks-value", unique("other-json")),
        "JSON",
        bigdata_jobs::json_schema::STOCK_TICK_SCHEMA,
    );
    let protobuf_id = registry_register(
        &format!("{}-proto-value", unique("other-proto")),
        "PROTOBUF",
        "syntax = \"proto3\";\nmessage StationStatus {\n  int64 number = 1;\n}\n",
    );
    let mut missing: Value = serde_json::from_slice(&payload).unwrap();
    missing.as_object_mut().unwrap().remove("available_bikes");
    let bad: [(i32, Vec<u8>, &str, String); 4] = [
        (
            0,
            frame(stocks_id, &payload),
            "bad_json_schema",
            format!(
                "schema {stocks_id}: failed to use the writer schema for StationStatus: it declares no property number"
            ),
        ),
        (
            1,
            frame(protobuf_id, &payload),
            "unknown_schema",
            format!(
                "schema {protobuf_id}: a PROTOBUF schema: stream reads Avro and JSON Schema values"
            ),
        ),
        (2, frame(id, b"{not json"), "bad_json", String::new()),
        (
            2,
            frame(id, missing.to_string().as_bytes()),
            "missing_field",
            "available_bikes".into(),
        ),
    ];
    for (partition, value, _, _) in &bad {
        produce_to(&framed, *partition, &[value.as_slice()]);
    }

    let log = stream_with_registry(&framed, "bikes", &unique("g"), &[]);

    let got = dead_letters(&format!("{framed}-dlq"), &framed);
    assert_eq!(got.len(), bad.len(), "{got:?}");
    for (partition, value, reason, detail) in &bad {
        let (_, d) = got
            .iter()
            .find(|(at, d)| {
                at.0 == *partition && d.base64.as_deref() == Some(base64(value).as_str())
            })
            .unwrap_or_else(|| {
                panic!("no dead letter for {reason} in partition {partition}: {got:?}")
            });
        assert_eq!(d.reason, *reason, "{d:?}");
        assert_eq!(d.payload, None, "{d:?}");
        assert!(d.detail.contains(detail.as_str()), "{d:?}");
    }
    assert_eq!(done_field(&log, "dead_lettered"), 4);
    let want = expected(
        &read_all(&json, "read_uncommitted"),
        "bikes",
        60_000,
        10_000,
    );
    assert_same(&output_map(&format!("{framed}-out")), &want.aggregates);
}
