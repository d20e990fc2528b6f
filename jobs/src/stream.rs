//! `bigdata-jobs stream`: per-key tumbling-window aggregates of the demo events, exactly once, from one
//! Kafka topic to another, with a dead-letter topic for late and malformed records.
//!
//! Exactly once: a transactional producer (`transactional.id` = `bigdata-stream-<group>-<instance>`, so a
//! restarted instance fences its predecessor and aborts its open transaction), a `read_committed` consumer
//! without auto-commit, and the consumer offsets sent in the same transaction as the outputs
//! (`send_offsets_to_transaction`). A transaction is committed every `--commit-records` records or
//! `--commit-interval`, before a rebalance takes partitions away, and on SIGTERM/SIGINT.
//!
//! The window state is not stored anywhere: the committed offset of a partition is the first offset its
//! open windows need, and the commit's metadata says how far processing had got, so a restarted (or new)
//! owner rebuilds the open windows by reading those records again (see `window.rs`). Any failed
//! transaction ends the process with an error: the next start resumes from the last commit.
//!
//! With `--land-dir`, the well-formed input records are also written to HDFS before the transaction that
//! consumes them commits (see `land.rs`).
//!
//! Input values in the Confluent wire format (Avro or JSON Schema through a schema registry,
//! `--schema-registry`) are read as they come from the consumer (see `decode.rs`): the windows get the
//! same event, and landing the same JSON, as from the JSON event.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use crate::decode::Decoder;
use crate::events::EventKind;
use crate::kafka::{self, ExtendConfig, StopFlag};
use crate::land::{LandOptions, Lander};
use crate::metrics::{GaugeFamily, Histogram, Metric, Registry, latency_buckets};
use crate::registry::{self, SchemaRegistry};
use crate::window::{Aggregate, Event, Outcome, PartitionState, WindowSpec, dead_letter_json};

/// The job's settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub bootstrap: String,
    pub input_topic: String,
    pub output_topic: String,
    pub dead_letter_topic: String,
    pub spec: WindowSpec,
    pub group: String,
    pub instance_id: String,
    pub commit_records: u64,
    pub commit_interval: Duration,
    pub stop_after_idle: Option<Duration>,
    pub metrics_addr: Option<SocketAddr>,
    /// At most this many keys get a gauge of their latest window (see [`LatestWindows`]).
    pub key_gauges: usize,
    /// Create the output and dead-letter topics (as many partitions as the input) when missing.
    pub create_topics: bool,
    pub session_timeout: Duration,
    pub transaction_timeout: Duration,
    /// librdkafka settings over the job's own (both clients), e.g. `debug=cgrp,fetch`.
    pub kafka_conf: Vec<(String, String)>,
    /// Also write the well-formed input records to this HDFS directory (see `land.rs`).
    pub land: Option<LandOptions>,
    /// The schema registry of Avro and JSON Schema input values (Confluent's REST API base URL, see
    /// `registry.rs`).
    pub schema_registry: Option<String>,
}

impl Options {
    pub fn transactional_id(&self) -> String {
        format!("bigdata-stream-{}-{}", self.group, self.instance_id)
    }
}

const DEAD_LETTER_REASONS: [&str; 8] = [
    "late",
    "empty",
    "bad_json",
    "missing_field",
    "invalid_field",
    "unknown_schema",
    "bad_avro",
    "bad_json_schema",
];

/// The latest committed window of each key, as gauges: what the live demo dashboard shows (a station's bikes,
/// a symbol's price) and how far event time has got.
struct LatestWindows {
    /// Per station, the average available bikes; per symbol, the closing price.
    per_key: GaugeFamily,
    /// The end of the latest window committed, in seconds since the epoch (event time).
    window_end: Arc<Metric>,
}

impl LatestWindows {
    fn new(r: &Arc<Registry>, kind: EventKind, limit: usize) -> LatestWindows {
        let per_key = match kind {
            EventKind::Bikes => r.gauge_family(
                "bigdata_stream_station_available_bikes",
                "Average available bikes of the station in its latest committed window.",
                "station",
                limit,
            ),
            EventKind::Stocks => r.gauge_family(
                "bigdata_stream_symbol_price",
                "Closing price of the symbol in its latest committed window.",
                "symbol",
                limit,
            ),
        };
        LatestWindows {
            per_key,
            window_end: r.gauge(
                "bigdata_stream_latest_window_end_seconds",
                "End of the latest window committed (event time, seconds since the epoch).",
                &[],
            ),
        }
    }

    /// Shows the aggregates of a committed transaction (in the order they were closed: a key's last wins).
    fn show(&self, committed: &[Aggregate]) {
        for agg in committed {
            let (value, end) = match agg {
                Aggregate::Bikes {
                    window_end,
                    avg_available_bikes,
                    ..
                } => (*avg_available_bikes, *window_end),
                Aggregate::Stocks {
                    window_end, close, ..
                } => (*close, *window_end),
            };
            self.per_key.set(&agg.key(), value);
            if end / 1000 > self.window_end.get() {
                self.window_end.set(end / 1000);
            }
        }
    }
}

struct Metrics {
    latest: LatestWindows,
    records_in: Arc<Metric>,
    replayed: Arc<Metric>,
    records_out: Arc<Metric>,
    dead_lettered: Vec<(&'static str, Arc<Metric>)>,
    committed: Arc<Metric>,
    aborted: Arc<Metric>,
    open_windows: Arc<Metric>,
    partitions: Arc<Metric>,
    commit_latency: Arc<Histogram>,
}

impl Metrics {
    fn new(r: &Arc<Registry>, opts: &Options) -> Metrics {
        Metrics {
            latest: LatestWindows::new(r, opts.spec.kind, opts.key_gauges),
            records_in: r.counter(
                "bigdata_stream_records_in_total",
                "Input records read (including those read again to rebuild open windows).",
                &[],
            ),
            replayed: r.counter(
                "bigdata_stream_records_replayed_total",
                "Input records read again after a start or rebalance to rebuild open windows.",
                &[],
            ),
            records_out: r.counter(
                "bigdata_stream_records_out_total",
                "Window aggregates written to the output topic in committed transactions.",
                &[],
            ),
            dead_lettered: DEAD_LETTER_REASONS
                .iter()
                .map(|reason| {
                    (
                        *reason,
                        r.counter(
                            "bigdata_stream_dead_lettered_total",
                            "Records written to the dead-letter topic in committed transactions, by reason.",
                            &[("reason", reason)],
                        ),
                    )
                })
                .collect(),
            committed: r.counter(
                "bigdata_stream_transactions_committed_total",
                "Kafka transactions committed.",
                &[],
            ),
            aborted: r.counter(
                "bigdata_stream_transactions_aborted_total",
                "Kafka transactions aborted.",
                &[],
            ),
            open_windows: r.gauge(
                "bigdata_stream_open_windows",
                "Windows being aggregated (not yet closed by the watermark).",
                &[],
            ),
            partitions: r.gauge(
                "bigdata_stream_partitions",
                "Input partitions with state in this instance.",
                &[],
            ),
            commit_latency: r.histogram(
                "bigdata_stream_commit_latency_seconds",
                "Per input record: the time its transaction committed minus the record's Kafka timestamp.",
                &[],
                &latency_buckets(),
            ),
        }
    }
}

/// Everything the main loop and the rebalance callback share (behind one mutex; the callback runs inside
/// `poll`, while the loop does not hold the lock).
struct Engine {
    opts: Options,
    producer: BaseProducer,
    states: HashMap<i32, PartitionState>,
    in_transaction: bool,
    records_since_commit: u64,
    last_commit: Instant,
    /// The aggregates sent in the open transaction (counted and shown by the metrics once it commits).
    pending_windows: Vec<Aggregate>,
    pending_dead: HashMap<&'static str, i64>,
    /// The Kafka timestamps (ms) of the records processed in the open transaction, for the commit latency
    /// (reused: cleared at each commit, it keeps its capacity).
    pending_ts: Vec<i64>,
    metrics: Metrics,
    /// Writes the raw input to HDFS before each commit (`--land-dir`).
    lander: Option<Lander>,
    /// Turns Avro and JSON Schema input values into JSON (`--schema-registry`).
    decoder: Decoder,
    /// An error met in the rebalance callback, for the loop to end with.
    fatal: Option<anyhow::Error>,
    /// Set after any error: the open transaction may be incomplete and must never be committed.
    failed: bool,
}

struct StreamContext {
    engine: Arc<Mutex<Engine>>,
}

impl ClientContext for StreamContext {}

impl ConsumerContext for StreamContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut engine = lock(&self.engine);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                // Commit what was done for these partitions while they are still ours (the transaction's
                // offset commit carries this generation of the group), then forget their state.
                let revoked: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                info!(partitions = ?revoked, "stream: partitions revoked");
                if let Err(e) = engine.commit(consumer) {
                    engine.fatal.get_or_insert(e);
                }
                for p in revoked {
                    engine.states.remove(&p);
                }
                engine.update_gauges();
            }
            Rebalance::Assign(tpl) => {
                let assigned: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                info!(partitions = ?assigned, "stream: partitions assigned");
            }
            Rebalance::Error(e) => warn!(error = %e, "stream: rebalance error"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // Read every new partition's checkpoint in one request (a partition whose first record comes
            // before this is restored on its own).
            let mut engine = lock(&self.engine);
            let partitions: Vec<i32> = tpl
                .elements()
                .iter()
                .map(|e| e.partition())
                .filter(|p| !engine.states.contains_key(p))
                .collect();
            if let Err(e) = engine.restore(consumer, &partitions) {
                engine.fatal.get_or_insert(e);
            }
        }
    }
}

fn lock(engine: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    fn begin(&mut self) -> anyhow::Result<()> {
        if !self.in_transaction {
            self.producer
                .begin_transaction()
                .context("failed to begin a transaction")?;
            self.in_transaction = true;
        }
        Ok(())
    }

    fn send(&mut self, topic: &str, key: &[u8], value: &str) -> anyhow::Result<()> {
        self.begin()?;
        loop {
            match self
                .producer
                .send(BaseRecord::to(topic).key(key).payload(value))
            {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(20));
                }
                Err((e, _)) => return Err(anyhow!("failed to produce to {topic}: {e}")),
            }
        }
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// Handles one input record.
    fn process<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        partition: i32,
        offset: i64,
        timestamp: Option<i64>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
    ) -> anyhow::Result<()> {
        if !self.states.contains_key(&partition) {
            self.restore(consumer, &[partition])?;
        }
        // Framed values become the event's JSON here, for new and re-read records alike.
        let input = self.decoder.decode(payload).with_context(|| {
            format!(
                "failed to decode {}/{partition} offset {offset}",
                self.opts.input_topic
            )
        })?;
        let state = self.states.get_mut(&partition).expect("just inserted");
        let event = input.event(self.opts.spec.kind);
        let event_ts = event.as_ref().map(Event::ts).ok();
        let (outcome, closed) = state.process_parsed(offset, event);
        self.metrics.records_in.inc();
        // Every well-formed record processed now (in a window or late) is landed, as JSON; not the
        // malformed ones, nor those re-read to rebuild state (landed before their checkpoint was committed).
        if matches!(outcome, Outcome::Accepted | Outcome::Late { .. })
            && let Some(lander) = self.lander.as_mut()
            && let (Some(ts), Some(json)) = (event_ts, input.json())
        {
            lander.add(partition, offset, ts, &json);
        }
        // Records read again to rebuild state were committed before: they have no commit latency.
        let replayed = matches!(outcome, Outcome::Replayed);
        let dead = match outcome {
            Outcome::Accepted => None,
            Outcome::Duplicate => {
                debug!(
                    partition,
                    offset, "stream: skipped an offset already processed"
                );
                return Ok(());
            }
            Outcome::Replayed => {
                self.metrics.replayed.inc();
                None
            }
            Outcome::Late {
                window_start,
                watermark,
            } => Some((
                "late",
                format!(
                    "window [{window_start}, {}) was already emitted: the partition's watermark is {watermark}",
                    window_start + self.opts.spec.size_ms
                ),
            )),
            Outcome::Malformed(m) => Some((m.reason, m.detail)),
        };
        if let Some((reason, detail)) = dead {
            let json = dead_letter_json(
                reason,
                &detail,
                &self.opts.input_topic,
                partition,
                offset,
                payload,
            );
            let topic = self.opts.dead_letter_topic.clone();
            self.send(&topic, key.unwrap_or_default(), &json)?;
            *self.pending_dead.entry(reason).or_default() += 1;
        }
        if !closed.is_empty() {
            let topic = self.opts.output_topic.clone();
            for agg in closed {
                self.send(&topic, agg.key().as_bytes(), &agg.to_json())?;
                self.pending_windows.push(agg);
            }
            self.update_gauges();
        }
        self.records_since_commit += 1;
        if let (Some(ts), false) = (timestamp, replayed) {
            self.pending_ts.push(ts);
        }
        Ok(())
    }

    /// Restores the state of `partitions` from their committed offsets and the commits' metadata.
    fn restore<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        partitions: &[i32],
    ) -> anyhow::Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let topic = self.opts.input_topic.clone();
        let started = Instant::now();
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition(&topic, *p);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(60))
            .with_context(|| {
                format!("failed to read the committed offsets of {topic} {partitions:?}")
            })?;
        for &partition in partitions {
            let elem = committed
                .find_partition(&topic, partition)
                .ok_or_else(|| anyhow!("no committed offset for {topic}/{partition}"))?;
            elem.error().with_context(|| {
                format!("failed to read the committed offset of {topic}/{partition}")
            })?;
            let offset = match elem.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            let state = PartitionState::restore(self.opts.spec, offset, elem.metadata())
                .map_err(|e| anyhow!("{topic}/{partition}: {e}"))?;
            info!(
                partition,
                committed = offset,
                checkpoint = elem.metadata(),
                "stream: partition state restored (open windows are rebuilt from the committed offset)"
            );
            self.states.insert(partition, state);
        }
        debug!(
            millis = started.elapsed().as_millis() as u64,
            "stream: checkpoints read"
        );
        self.update_gauges();
        Ok(())
    }

    fn update_gauges(&self) {
        self.metrics
            .open_windows
            .set(self.states.values().map(|s| s.open_windows() as i64).sum());
        self.metrics.partitions.set(self.states.len() as i64);
    }

    fn commit_due(&self) -> bool {
        self.records_since_commit >= self.opts.commit_records
            || (self.records_since_commit > 0
                && self.last_commit.elapsed() >= self.opts.commit_interval)
    }

    /// Commits the open transaction with every partition's checkpoint (no-op when nothing was read).
    fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> anyhow::Result<()> {
        if self.failed {
            self.abort();
            bail!("not committing: an earlier error left the transaction incomplete");
        }
        if self.records_since_commit == 0 && !self.in_transaction {
            return Ok(());
        }
        let result = self.try_commit(consumer);
        if let Err(e) = &result {
            error!(
                error = format!("{e:#}"),
                "stream: the transaction failed; aborting it"
            );
            self.failed = true;
            self.abort();
        }
        result
    }

    /// Aborts the open transaction (after an error).
    fn abort(&mut self) {
        if let Some(lander) = self.lander.as_mut() {
            lander.discard();
        }
        self.pending_ts.clear();
        self.pending_windows.clear();
        if self.in_transaction {
            // abort_transaction waits for the delivery reports of the messages sent, which only `poll`
            // serves on this producer: without this it waited out the whole timeout whenever the error
            // came before the acknowledgements were collected (e.g. a failed landing on HDFS).
            let deadline = Instant::now() + self.opts.transaction_timeout;
            while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
                self.producer.poll(Duration::from_millis(1));
            }
            match self
                .producer
                .abort_transaction(self.opts.transaction_timeout)
            {
                Ok(()) => {
                    self.metrics.aborted.inc();
                    info!("stream: transaction aborted");
                }
                Err(e) => warn!(error = %e, "stream: failed to abort the transaction"),
            }
            self.in_transaction = false;
        }
    }

    fn try_commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> anyhow::Result<()> {
        self.begin()?;
        // The transaction's records are on HDFS before it commits (the files are complete: written under a
        // temporary name, then renamed). A flush that fails, or outlasts the transaction timeout (the
        // broker would abort the transaction anyway), fails the transaction.
        let t_land = Instant::now();
        let landed = self.lander.as_ref().map_or(0, Lander::pending_records);
        if let Some(lander) = self.lander.as_mut() {
            lander
                .flush(self.opts.transaction_timeout)
                .context("failed to land the transaction's records on HDFS")?;
        }
        let mut tpl = TopicPartitionList::new();
        let mut partitions = self.states.iter().collect::<Vec<_>>();
        partitions.sort_by_key(|(p, _)| **p);
        for (p, state) in partitions {
            if let Some(c) = state.checkpoint() {
                let mut e = tpl.add_partition(&self.opts.input_topic, *p);
                e.set_offset(Offset::Offset(c.replay_from))?;
                e.set_metadata(c.metadata);
            }
        }
        let t0 = Instant::now();
        if tpl.count() > 0 {
            let group = consumer
                .group_metadata()
                .ok_or_else(|| anyhow!("the consumer has no group metadata"))?;
            self.producer
                .send_offsets_to_transaction(&tpl, &group, self.opts.transaction_timeout)
                .context("failed to add the offsets to the transaction")?;
        }
        let t1 = Instant::now();
        // Wait for the outputs' acknowledgements in 1 ms steps: commit_transaction's own flush (and
        // rdkafka's flush) wait in 100 ms steps for delivery reports served on this producer's queue,
        // which added 100 ms to every transaction (measured).
        let deadline = t1 + self.opts.transaction_timeout;
        while self.producer.in_flight_count() > 0 {
            if Instant::now() > deadline {
                bail!("the outputs were not acknowledged within the transaction timeout");
            }
            self.producer.poll(Duration::from_millis(1));
        }
        self.producer
            .commit_transaction(self.opts.transaction_timeout)
            .context("failed to commit the transaction")?;
        let t2 = Instant::now();
        let committed_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.metrics.commit_latency.observe_all(
            self.pending_ts
                .iter()
                .map(|ts| (committed_ms - ts).max(0) as f64 / 1000.0),
        );
        self.pending_ts.clear();
        self.in_transaction = false;
        self.metrics.committed.inc();
        self.update_gauges();
        self.metrics
            .records_out
            .add(self.pending_windows.len() as i64);
        self.metrics.latest.show(&self.pending_windows);
        for (reason, m) in &self.metrics.dead_lettered {
            if let Some(n) = self.pending_dead.get(reason) {
                m.add(*n);
            }
        }
        debug!(
            records = self.records_since_commit,
            out = self.pending_windows.len(),
            landed,
            land_ms = t0.duration_since(t_land).as_millis() as u64,
            offsets_ms = t1.duration_since(t0).as_millis() as u64,
            commit_ms = t2.duration_since(t1).as_millis() as u64,
            "stream: transaction committed"
        );
        self.pending_windows.clear();
        self.pending_dead.clear();
        self.records_since_commit = 0;
        self.last_commit = Instant::now();
        Ok(())
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub records_in: i64,
    pub records_out: i64,
    pub dead_lettered: i64,
    pub transactions: i64,
    /// Records and files written to the landing directory (0 without `--land-dir`).
    pub landed_records: i64,
    pub landed_files: i64,
    pub seconds: f64,
    pub stopped_by: Option<&'static str>,
}

/// Runs until SIGTERM/SIGINT, or until no record came for `stop_after_idle`.
pub fn run(opts: Options, stop: &StopFlag) -> anyhow::Result<Summary> {
    if opts.spec.size_ms <= 0 {
        bail!("--window must be positive");
    }
    if opts.spec.lateness_ms < 0 {
        bail!("--allowed-lateness must not be negative");
    }
    let schema_registry = opts
        .schema_registry
        .as_deref()
        .map(|url| SchemaRegistry::new(url, registry::REQUEST_TIMEOUT))
        .transpose()?;
    let registry = Registry::serving(opts.metrics_addr)?;
    let metrics = Metrics::new(&registry, &opts);
    // HDFS first: an unreachable landing directory fails the start before anything is consumed.
    let lander = match &opts.land {
        Some(land) => Some(Lander::start(land, &registry)?),
        None => None,
    };

    let transactional_id = opts.transactional_id();
    let producer: BaseProducer =
        kafka::config(&opts.bootstrap, &format!("{transactional_id}-producer"))
            .set("transactional.id", &transactional_id)
            .set("enable.idempotence", "true")
            .set(
                "transaction.timeout.ms",
                opts.transaction_timeout.as_millis().to_string(),
            )
            // The outputs are few (aggregates, dead letters) and a transaction waits for them to be
            // acknowledged before it commits: do not hold them back for batching.
            .set("linger.ms", "1")
            // A transaction's first request right after the previous commit is answered "concurrent
            // transactions" until the markers are written: retry soon (default 100 ms).
            .set("retry.backoff.ms", "10")
            .set("partitioner", "murmur2_random")
            .create()
            .context("failed to create the transactional producer")?;
    // Fences an earlier producer with this transactional.id (a zombie of this instance) and aborts its open
    // transaction, so that the committed offsets read below are final.
    producer
        .init_transactions(opts.transaction_timeout)
        .with_context(|| {
            format!(
                "failed to initialise transactions (transactional.id {transactional_id}) on {}",
                opts.bootstrap
            )
        })?;
    info!(transactional_id, "stream: transactions initialised");

    let engine = Arc::new(Mutex::new(Engine {
        opts: opts.clone(),
        producer,
        states: HashMap::new(),
        in_transaction: false,
        records_since_commit: 0,
        last_commit: Instant::now(),
        pending_windows: Vec::new(),
        pending_dead: HashMap::new(),
        pending_ts: Vec::with_capacity(opts.commit_records.min(1 << 20) as usize),
        metrics,
        lander,
        decoder: Decoder::new(opts.spec.kind, schema_registry),
        fatal: None,
        failed: false,
    }));
    let consumer: BaseConsumer<StreamContext> =
        kafka::config(&opts.bootstrap, &format!("{transactional_id}-consumer"))
            .set("group.id", &opts.group)
            .set("group.instance.id", &opts.instance_id)
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // librdkafka pauses a partition's fetching for this long whenever its prefetch queue is full
            // (default 1000 ms): under load every partition stalled a second at a time (measured: 11% of
            // the consumer ceiling with it, 55% without).
            .set("fetch.queue.backoff.ms", "10")
            .set(
                "session.timeout.ms",
                opts.session_timeout.as_millis().to_string(),
            )
            .extend_from(&opts.kafka_conf)
            .create_with_context(StreamContext {
                engine: engine.clone(),
            })
            .context("failed to create the consumer")?;

    let partitions = kafka::partition_count(&consumer, &opts.input_topic, Duration::from_secs(30))?
        .ok_or_else(|| anyhow!("the input topic {} does not exist", opts.input_topic))?;
    if opts.create_topics {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for topic in [&opts.output_topic, &opts.dead_letter_topic] {
            if rt.block_on(kafka::ensure_topic(
                &opts.bootstrap,
                topic,
                partitions as i32,
                Duration::from_secs(30),
            ))? {
                info!(topic, partitions, "stream: created the topic");
            }
        }
    }
    consumer
        .subscribe(&[&opts.input_topic])
        .with_context(|| format!("failed to subscribe to {}", opts.input_topic))?;
    info!(
        input = opts.input_topic,
        output = opts.output_topic,
        dead_letter = opts.dead_letter_topic,
        kind = opts.spec.kind.as_str(),
        window_ms = opts.spec.size_ms,
        allowed_lateness_ms = opts.spec.lateness_ms,
        group = opts.group,
        instance = opts.instance_id,
        schema_registry = opts.schema_registry,
        "stream: started"
    );

    let start = Instant::now();
    let mut last_record: Option<Instant> = None;
    let mut first_record: Option<Instant> = None;
    let mut stopped_by = None;
    loop {
        if stop.is_stopped() {
            stopped_by = stop.signal();
            info!(
                signal = stopped_by,
                "stream: stopping (committing the open transaction)"
            );
            break;
        }
        let polled = consumer.poll(Duration::from_millis(100));
        let mut engine = lock(&engine);
        if let Some(e) = engine.fatal.take() {
            return Err(e);
        }
        let polled_nothing = polled.is_none();
        match polled {
            None => {}
            Some(Err(e)) => warn!(error = %e, "stream: consumer error"),
            Some(Ok(m)) if m.topic() == opts.input_topic => {
                first_record.get_or_insert_with(Instant::now);
                if let Err(e) = engine.process(
                    &consumer,
                    m.partition(),
                    m.offset(),
                    m.timestamp().to_millis(),
                    m.key(),
                    m.payload(),
                ) {
                    engine.failed = true;
                    engine.abort();
                    return Err(e);
                }
                last_record = Some(Instant::now());
            }
            Some(Ok(_)) => {}
        }
        if engine.commit_due() {
            engine.commit(&consumer)?;
        }
        // Idle only counts after a poll that found nothing (not right after a slow commit or restore).
        if let (Some(idle), true) = (opts.stop_after_idle, polled_nothing) {
            // Idle time counts from the last record, or from the first assignment.
            let assigned = !engine.states.is_empty()
                || consumer
                    .assignment()
                    .map(|a| a.count() > 0)
                    .unwrap_or(false);
            if assigned {
                // Nor is the time a commit took: one slowed by a moving transaction coordinator (a broker
                // restarting) and followed by a single empty poll stopped a run halfway (seen in CI).
                let since = (*last_record.get_or_insert_with(Instant::now)).max(engine.last_commit);
                if since.elapsed() >= idle {
                    info!(
                        idle_s = idle.as_secs_f64(),
                        "stream: no record for the idle time; stopping"
                    );
                    break;
                }
            }
        }
    }
    let mut engine = lock(&engine);
    engine.commit(&consumer)?;
    let m = &engine.metrics;
    let (landed_records, landed_files, landed_bytes) =
        engine.lander.as_ref().map_or((0, 0, 0), Lander::totals);
    let busy = match (first_record, last_record) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    // Estimated from the histogram's buckets (each at most 25% above the one below), in ms; -1 when
    // nothing was committed.
    let latency_ms = |q: f64| {
        m.commit_latency
            .quantile(q)
            .map_or(-1.0, |s| (s * 10_000.0).round() / 10.0)
    };
    let summary = Summary {
        records_in: m.records_in.get(),
        records_out: m.records_out.get(),
        dead_lettered: m.dead_lettered.iter().map(|(_, c)| c.get()).sum(),
        transactions: m.committed.get(),
        landed_records,
        landed_files,
        seconds: start.elapsed().as_secs_f64(),
        stopped_by,
    };
    info!(
        records_in = summary.records_in,
        replayed = m.replayed.get(),
        records_out = summary.records_out,
        dead_lettered = summary.dead_lettered,
        transactions = summary.transactions,
        landed_records,
        landed_files,
        landed_bytes,
        open_windows = m.open_windows.get(),
        seconds = summary.seconds,
        busy_seconds = busy,
        records_per_s = (summary.records_in as f64 / busy.max(1e-3)).round(),
        commit_latency_p50_ms = latency_ms(0.5),
        commit_latency_p99_ms = latency_ms(0.99),
        "stream: done"
    );
    Ok(summary)
}
