//! `bigdata-jobs generate --topic`: the demo events produced to Kafka, keyed by station number or stock
//! symbol, at a target rate (token bucket), through an idempotent producer; or JSON lines to a writer.
//! Values are JSON, or Avro or JSON Schema in the Confluent wire format (`--format avro|json-schema`: the
//! schema registered in a schema registry under `<topic>-value`, see `wire.rs`, `avro.rs`,
//! `json_schema.rs` and `registry.rs`).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use tracing::info;

use crate::avro::{self, Encoder};
use crate::events::{DemoEvent, EventKind, Generator};
use crate::json_schema;
use crate::kafka::{self, StopFlag};
use crate::metrics::{Metric, Registry};
use crate::registry::{self, SchemaRegistry, SchemaType};
use crate::wire;

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u64, burst: u64, now: Instant) -> TokenBucket {
        let burst = burst.max(1) as f64;
        TokenBucket {
            rate: rate as f64,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one; otherwise says how long until there is.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// The generator's counters (`--metrics-addr`).
#[derive(Clone)]
pub struct Metrics {
    produced: Arc<Metric>,
    failed: Arc<Metric>,
}

impl Metrics {
    pub fn new(r: &Registry) -> Metrics {
        Metrics {
            produced: r.counter(
                "bigdata_generate_events_produced_total",
                "Events produced: acknowledged by Kafka (with --topic), or written to stdout.",
                &[],
            ),
            failed: r.counter(
                "bigdata_generate_events_failed_total",
                "Events Kafka did not accept (delivery failed after the producer's retries).",
                &[],
            ),
        }
    }

    pub fn produced(&self) -> i64 {
        self.produced.get()
    }
}

/// Counts acknowledged and failed deliveries (an idempotent producer retries the others itself).
struct DeliveryContext {
    failed: Mutex<(u64, Option<String>)>,
    metrics: Metrics,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.metrics.produced.inc(),
            Err((e, _)) => {
                self.metrics.failed.inc();
                let mut f = self.failed.lock().unwrap_or_else(|p| p.into_inner());
                f.0 += 1;
                f.1.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Where and how fast to produce.
#[derive(Debug, Clone)]
pub struct KafkaTarget {
    pub bootstrap: String,
    pub topic: String,
    /// Events a second; 0: as fast as possible.
    pub rate: u64,
    /// Create the topic with this many partitions when it does not exist.
    pub partitions: Option<i32>,
}

/// The values' format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per event.
    Json,
    /// Avro in the Confluent wire format (magic byte, schema id, datum), with --topic and --schema-registry.
    Avro,
    /// JSON Schema in the Confluent wire format (magic byte, schema id, the event's JSON), with --topic and
    /// --schema-registry.
    JsonSchema,
}

impl Format {
    /// Whether values of this format need a schema registry (and so a topic).
    pub fn needs_registry(self) -> bool {
        self != Format::Json
    }

    /// The format's name, as --format takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Avro => "avro",
            Format::JsonSchema => "json-schema",
        }
    }
}

/// How events become record values.
pub enum Values {
    Json,
    /// Avro datums of the schema registered with this id, framed.
    Avro {
        id: u32,
        encoder: Encoder,
    },
    /// The events' JSON, framed with the id of their registered JSON Schema.
    JsonSchema {
        id: u32,
    },
}

impl Values {
    /// The values of `format`; for Avro and JSON Schema, `kind`'s schema is registered under
    /// `<topic>-value` in the registry at `url` (once, at start).
    pub fn new(
        format: Format,
        kind: EventKind,
        topic: &str,
        url: Option<&str>,
    ) -> anyhow::Result<Values> {
        let registered = |schema_type, schema, name: &str| match url {
            Some(url) => register(kind, topic, url, &schema_type, schema, name),
            None => bail!("--format {} needs --schema-registry", format.name()),
        };
        Ok(match format {
            Format::Json => Values::Json,
            Format::Avro => Values::Avro {
                id: registered(
                    SchemaType::Avro,
                    avro::schema_json(kind),
                    &avro::record_name(kind),
                )?,
                encoder: Encoder::new(kind),
            },
            Format::JsonSchema => Values::JsonSchema {
                id: registered(
                    SchemaType::Json,
                    json_schema::schema_json(kind),
                    json_schema::title(kind),
                )?,
            },
        })
    }

    /// The record value of `event`.
    pub fn value(&self, event: &DemoEvent) -> anyhow::Result<Vec<u8>> {
        match self {
            Values::Json => Ok(event.to_json().into_bytes()),
            Values::Avro { id, encoder } => Ok(wire::frame(*id, &encoder.datum(event)?)),
            Values::JsonSchema { id } => Ok(wire::frame(*id, event.to_json().as_bytes())),
        }
    }
}

/// Registers `schema` (named `name`, for the log) under `<topic>-value`; its id.
fn register(
    kind: EventKind,
    topic: &str,
    url: &str,
    schema_type: &SchemaType,
    schema: &str,
    name: &str,
) -> anyhow::Result<u32> {
    let registry = SchemaRegistry::new(url, registry::REQUEST_TIMEOUT)?;
    let subject = registry::value_subject(topic);
    let id = registry.register(&subject, schema_type, schema)?;
    info!(
        subject,
        id,
        kind = ?kind,
        schema = name,
        schema_type = schema_type.name(),
        registry = registry.url(),
        "generate: the schema is registered"
    );
    Ok(id)
}

/// What was produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub produced: u64,
    pub seconds: f64,
    pub interrupted: Option<&'static str>,
}

/// Writes `count` events of `generator` to `out`, one JSON object per line.
pub fn write_lines(
    generator: &mut Generator,
    count: u64,
    out: &mut impl Write,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    for _ in 0..count {
        writeln!(out, "{}", generator.next_json()).context("failed to write to stdout")?;
        metrics.produced.inc();
    }
    out.flush().context("failed to write to stdout")
}

/// Produces `count` events of `generator` to the topic as JSON; returns once all are acknowledged
/// (`acks=all`).
pub fn produce(
    generator: &mut Generator,
    count: u64,
    target: &KafkaTarget,
    stop: &StopFlag,
    metrics: &Metrics,
) -> anyhow::Result<Summary> {
    produce_values(generator, count, target, &Values::Json, stop, metrics)
}

/// Produces `count` events of `generator` to the topic, as `values` says; returns once all are
/// acknowledged (`acks=all`).
pub fn produce_values(
    generator: &mut Generator,
    count: u64,
    target: &KafkaTarget,
    values: &Values,
    stop: &StopFlag,
    metrics: &Metrics,
) -> anyhow::Result<Summary> {
    if let Some(p) = target.partitions {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let created = rt.block_on(kafka::ensure_topic(
            &target.bootstrap,
            &target.topic,
            p,
            Duration::from_secs(30),
        ))?;
        if created {
            info!(
                topic = target.topic,
                partitions = p,
                "generate: created the topic"
            );
        }
    }
    let producer: BaseProducer<DeliveryContext> =
        kafka::config(&target.bootstrap, "bigdata-jobs-generate")
            .set("enable.idempotence", "true")
            .set("linger.ms", "20")
            .set("compression.type", "lz4")
            // The Java client's partitioner: the same key lands in the same partition as from Java producers.
            .set("partitioner", "murmur2_random")
            .create_with_context(DeliveryContext {
                failed: Mutex::default(),
                metrics: metrics.clone(),
            })
            .context("failed to create the Kafka producer")?;
    let start = Instant::now();
    let mut bucket =
        (target.rate > 0).then(|| TokenBucket::new(target.rate, (target.rate / 100).max(1), start));
    let mut produced = 0;
    let mut interrupted = None;
    while produced < count {
        if stop.is_stopped() {
            interrupted = stop.signal();
            break;
        }
        if let Some(b) = bucket.as_mut()
            && let Err(wait) = b.try_take(Instant::now())
        {
            // Serve the delivery reports, then sleep: poll's timeout counts whole milliseconds, so the
            // sub-millisecond waits of high rates would make it return at once and spin a core.
            producer.poll(Duration::ZERO);
            std::thread::sleep(wait.min(Duration::from_millis(100)));
            continue;
        }
        let event = generator.next_event();
        let key = event.key();
        let value = values.value(&event)?;
        loop {
            // The record's timestamp is the produce time, not the event time: the demo's event times
            // are in the past (2023 by default), and time-based retention would delete such records.
            let r = BaseRecord::to(&target.topic).key(&key).payload(&value);
            match producer.send(r) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => bail!("failed to produce to {}: {e}", target.topic),
            }
        }
        produced += 1;
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(120))
        .with_context(|| format!("failed to flush the events to {}", target.topic))?;
    let (failed, first) = producer
        .context()
        .failed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if failed > 0 {
        bail!(
            "{failed} of {produced} events were not delivered to {}: {}",
            target.topic,
            first.unwrap_or_default()
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    info!(
        topic = target.topic,
        produced,
        seconds,
        events_per_s = (produced as f64 / seconds.max(1e-9)).round(),
        "generate: done"
    );
    Ok(Summary {
        produced,
        seconds,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_to_a_writer_are_counted() {
        let registry = Registry::default();
        let metrics = Metrics::new(&registry);
        let mut generator = Generator::new(crate::events::EventKind::Bikes, 1, 10, 0, 100);
        let mut out = Vec::new();
        write_lines(&mut generator, 25, &mut out, &metrics).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 25);
        assert_eq!(metrics.produced(), 25);
        assert!(
            registry
                .render()
                .contains("\nbigdata_generate_events_produced_total 25\n"),
            "{}",
            registry.render()
        );
    }

    #[test]
    fn the_bucket_allows_the_rate_and_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 5, t0);
        for _ in 0..5 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.01).abs() < 1e-6, "{wait:?}");
        // One second later: 100 tokens earned, but only 5 kept.
        let t1 = t0 + Duration::from_secs(1);
        let taken = (0..10).filter(|_| b.try_take(t1).is_ok()).count();
        assert_eq!(taken, 5);
        // Over 2 simulated seconds at most rate * 2 + burst are taken.
        let mut b = TokenBucket::new(1000, 10, t0);
        let mut taken = 0;
        for i in 0..20_000u64 {
            if b.try_take(t0 + Duration::from_micros(i * 100)).is_ok() {
                taken += 1;
            }
        }
        assert!((2000..=2010).contains(&taken), "{taken}");
    }
}
