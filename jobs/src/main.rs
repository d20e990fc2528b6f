use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bigdata_jobs::duration::parse_duration;
use bigdata_jobs::events::{EventKind, Generator};
use bigdata_jobs::generate::Format;
use bigdata_jobs::hdfs::{HdfsOptions, parse_conf_pair};
use bigdata_jobs::kafka::StopFlag;
use bigdata_jobs::land::LandOptions;
use bigdata_jobs::metrics::Registry;
use bigdata_jobs::registry;
use bigdata_jobs::shard::{self, Shard};
use bigdata_jobs::window::WindowSpec;
use bigdata_jobs::wordcount::{self, Interrupted};
use bigdata_jobs::{compact, generate, stream, verify};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use tracing::error;

/// Batch and stream jobs of the bigdata platform.
#[derive(Debug, Parser)]
#[command(name = "bigdata-jobs", version, about)]
struct Cli {
    /// Log format on stderr: one JSON object per line, or plain text.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Json, env = "BIGDATA_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Json,
    Text,
}

fn default_instance_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "0".to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthetic demo events (bike station status or stock ticks): JSON lines to stdout, or to a Kafka
    /// topic with --topic (keyed by station number / symbol, idempotent producer, at --rate events/s), as
    /// JSON or, with --format avro|json-schema, as Avro or JSON Schema in the Confluent wire format through
    /// a schema registry.
    Generate {
        /// Which demo's events.
        #[arg(long, value_enum, default_value_t = EventKind::Bikes, env = "BIGDATA_EVENT_KIND")]
        kind: EventKind,
        /// How many events.
        #[arg(long, default_value_t = 1000, env = "BIGDATA_COUNT")]
        count: u64,
        /// The seed: the same seed gives the same events.
        #[arg(long, default_value_t = 42, env = "BIGDATA_SEED")]
        seed: u64,
        /// How many bike stations.
        #[arg(long, default_value_t = 100, env = "BIGDATA_STATIONS")]
        stations: u32,
        /// Event time of the first event, in milliseconds since the Unix epoch.
        #[arg(long, default_value_t = 1_700_000_000_000)]
        start_ms: i64,
        /// Event time between two events, in milliseconds.
        #[arg(long, default_value_t = 100)]
        step_ms: i64,
        /// Produce to this Kafka topic instead of writing to stdout.
        #[arg(long, env = "BIGDATA_GENERATE_TOPIC")]
        topic: Option<String>,
        /// Kafka bootstrap servers (host:port,...), with --topic.
        #[arg(
            long,
            env = "BIGDATA_KAFKA_BOOTSTRAP",
            default_value = "localhost:9092"
        )]
        bootstrap_servers: String,
        /// Target events per second (token bucket); 0: as fast as possible.
        #[arg(long, default_value_t = 0, env = "BIGDATA_GENERATE_RATE")]
        rate: u64,
        /// Create the topic with this many partitions if it does not exist.
        #[arg(long, env = "BIGDATA_GENERATE_PARTITIONS")]
        partitions: Option<i32>,
        /// Serve Prometheus metrics on this address (GET /metrics), e.g. 0.0.0.0:9100.
        #[arg(long, env = "BIGDATA_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// The values' format with --topic: JSON, or Avro or JSON Schema in the Confluent wire format
        /// (0x00, the schema id as 4 bytes big-endian, then the Avro datum or the event's JSON); avro and
        /// json-schema register the schema under <topic>-value in --schema-registry at start.
        #[arg(long, value_enum, default_value_t = Format::Json, env = "BIGDATA_GENERATE_FORMAT")]
        format: Format,
        /// The schema registry, with --format avro|json-schema: the base URL of Confluent's REST API, e.g. Apicurio's
        /// http://registry:8080/apis/ccompat/v7 (plain HTTP).
        #[arg(long, value_name = "URL", env = "BIGDATA_SCHEMA_REGISTRY_URL", value_parser = registry::parse_url)]
        schema_registry: Option<String>,
    },
    /// Per-key tumbling-window aggregates of the demo events, exactly once, Kafka to Kafka.
    ///
    /// Bikes: per station and window, count and min/max/avg of available_bikes. Stocks: per symbol and
    /// window, count, open/high/low/close of price.amount and the summed volume. Event time is the record's
    /// last_update / as_of (ms). A window is written when its partition's watermark (largest event time
    /// seen minus --allowed-lateness) passes its end; records for a window already written, and malformed
    /// records, go to the dead-letter topic. Values are JSON events, or Avro or JSON Schema in the Confluent
    /// wire format (read with the writer schema from --schema-registry). Exit codes: 0 stopped (SIGTERM/SIGINT or --stop-after-idle,
    /// open transaction committed), 1 failed (the open transaction aborted), 2 bad usage.
    Stream {
        /// Kafka bootstrap servers (host:port,...).
        #[arg(
            long,
            env = "BIGDATA_KAFKA_BOOTSTRAP",
            default_value = "localhost:9092"
        )]
        bootstrap_servers: String,
        #[arg(long, env = "BIGDATA_STREAM_INPUT_TOPIC")]
        input_topic: String,
        #[arg(long, env = "BIGDATA_STREAM_OUTPUT_TOPIC")]
        output_topic: String,
        #[arg(long, env = "BIGDATA_STREAM_DEAD_LETTER_TOPIC")]
        dead_letter_topic: String,
        /// Which demo's events the input holds.
        #[arg(long, value_enum, env = "BIGDATA_EVENT_KIND")]
        kind: EventKind,
        /// Window length (e.g. 60s, 500ms, 5m).
        #[arg(long, default_value = "60s", value_parser = parse_duration, env = "BIGDATA_STREAM_WINDOW")]
        window: Duration,
        /// How far behind the largest event time seen a record may be and still count.
        #[arg(long, default_value = "10s", value_parser = parse_duration, env = "BIGDATA_STREAM_ALLOWED_LATENESS")]
        allowed_lateness: Duration,
        /// Consumer group (also part of the transactional.id).
        #[arg(long, env = "BIGDATA_STREAM_GROUP")]
        group: String,
        /// This instance's stable id (static group membership; part of the transactional.id). Run
        /// instances as a StatefulSet so a restarted pod keeps its id and fences its predecessor.
        #[arg(long, env = "BIGDATA_STREAM_INSTANCE_ID", default_value_t = default_instance_id())]
        instance_id: String,
        /// Commit the transaction after this many input records...
        #[arg(long, default_value_t = 100_000, env = "BIGDATA_STREAM_COMMIT_RECORDS")]
        commit_records: u64,
        /// ...or after this long, whichever comes first. Default 50ms; with --land-dir 5s (each
        /// transaction lands a file per partition and date, and HDFS wants few, large files).
        #[arg(long, value_parser = parse_duration, env = "BIGDATA_STREAM_COMMIT_INTERVAL")]
        commit_interval: Option<Duration>,
        /// Stop (committing) when no record came for this long, e.g. 5s. Default: run until a signal.
        #[arg(long, value_parser = parse_duration, env = "BIGDATA_STREAM_STOP_AFTER_IDLE")]
        stop_after_idle: Option<Duration>,
        /// Serve Prometheus metrics on this address (GET /metrics), e.g. 0.0.0.0:9100. Besides the job's
        /// counters: the latest committed window of each key (a station's average available bikes, a
        /// symbol's closing price), for the live demo dashboard.
        #[arg(long, env = "BIGDATA_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// At most this many keys (stations, symbols) get a gauge of their own in the metrics.
        #[arg(long, env = "BIGDATA_STREAM_KEY_GAUGES", default_value_t = 2000)]
        key_gauges: usize,
        /// Do not create missing output / dead-letter topics.
        #[arg(long, env = "BIGDATA_STREAM_NO_CREATE_TOPICS")]
        no_create_topics: bool,
        /// Consumer group session timeout.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        session_timeout: Duration,
        /// Transaction timeout (the broker aborts a transaction left open longer).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        transaction_timeout: Duration,
        /// librdkafka setting KEY=VALUE over the job's own, for the consumer (repeatable, or several
        /// separated by ';'), e.g. debug=cgrp,fetch or fetch.queue.backoff.ms=10
        #[arg(long = "kafka-conf", value_name = "KEY=VALUE", env = "BIGDATA_KAFKA_CONF",
              value_delimiter = ';', value_parser = parse_conf_pair)]
        kafka_conf: Vec<(String, String)>,
        /// The schema registry of Avro and JSON Schema input values (Confluent wire format: 0x00, schema
        /// id, payload): the base URL of Confluent's REST API, e.g. Apicurio's
        /// http://registry:8080/apis/ccompat/v7 (plain HTTP). Without it, framed values are dead-lettered
        /// as unknown_schema.
        #[arg(long, value_name = "URL", env = "BIGDATA_SCHEMA_REGISTRY_URL", value_parser = registry::parse_url)]
        schema_registry: Option<String>,
        /// Landing of the raw input on HDFS (--land-dir).
        #[command(flatten)]
        land: Box<LandArgs>,
    },
    /// Probe each component whose endpoint is set: BIGDATA_KAFKA_BOOTSTRAP, BIGDATA_HDFS_URL,
    /// BIGDATA_MYSQL_ADDRESS (or BIGDATA_MYSQL_HOST + BIGDATA_MYSQL_PORT), BIGDATA_METASTORE_URI,
    /// BIGDATA_SPARK_HISTORY_URL, BIGDATA_SCHEMA_REGISTRY_URL. Exit 0 only if every check passed (and
    /// there was one).
    Verify {
        /// `json`: human lines on stderr and the JSON report as the last stdout line; `text`: the human
        /// lines on stdout.
        #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
        report: ReportFormat,
        /// Time limit of each check.
        #[arg(long, default_value = "30s", value_parser = parse_duration, env = "BIGDATA_VERIFY_TIMEOUT")]
        timeout: Duration,
    },
    /// Turn JSON-lines events landed on HDFS into Parquet partitioned by date, registered in the Hive
    /// metastore as an external table (created with its database if missing).
    ///
    /// The partitions of the dates found in the input are rebuilt from all of the input's events of those
    /// dates: deduplicated by (key, event time), sorted, one Snappy Parquet file per partition written
    /// through a temporary name and renamed into place, then registered. A partition whose rows did not
    /// change is left alone, so running twice writes nothing the second time. Malformed lines are
    /// skipped and counted. Prints a JSON summary. Exit codes: 0 done, 1 failed, 2 bad usage.
    Compact {
        /// The landing directory (read recursively; names starting with `_` or `.` skipped) or one file:
        /// hdfs://host:port/path, hdfs://nameservice/path, or /path (fs.defaultFS).
        #[arg(long, env = "BIGDATA_COMPACT_INPUT")]
        input: String,
        /// The table, DATABASE.TABLE (e.g. demo.bikes).
        #[arg(long, env = "BIGDATA_COMPACT_TABLE", value_parser = table_name)]
        table: String,
        /// Which demo's events the input holds.
        #[arg(long, value_enum, env = "BIGDATA_EVENT_KIND")]
        kind: EventKind,
        /// Where a new table's files go (default: <the database's location>/<table>). An existing table
        /// keeps its location.
        #[arg(long, env = "BIGDATA_COMPACT_LOCATION")]
        location: Option<String>,
        /// The Hive metastore, thrift://host:port.
        #[arg(
            long,
            env = "BIGDATA_METASTORE_URI",
            default_value = "thrift://localhost:9083"
        )]
        metastore_uri: String,
        /// Time limit of each metastore call.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        metastore_timeout: Duration,
        #[command(flatten)]
        hdfs: HdfsArgs,
        /// Share the dates among this many processes (an Indexed Job's completions): each compacts the
        /// dates whose day number modulo N is its --shard-index, reading only their dt= directories.
        #[arg(long, env = "BIGDATA_COMPACT_SHARDS", value_parser = clap::value_parser!(u32).range(1..=10_000))]
        shards: Option<u32>,
        /// This process's share, 0-based (an Indexed Job sets JOB_COMPLETION_INDEX), with --shards.
        #[arg(long, env = "JOB_COMPLETION_INDEX", default_value_t = 0)]
        shard_index: u32,
    },
    /// Count the words of HDFS files; write sorted `word<TAB>count` lines to <OUTPUT>/part-r-00000.
    ///
    /// Words are runs of non-ASCII-whitespace bytes, lowercased. The input is read in parallel by byte
    /// range; the output appears atomically (a hidden temporary directory next to it is renamed into
    /// place), so a failed or stopped run leaves no output. Exit codes: 0 done, 1 failed, 2 bad usage,
    /// 130/143 stopped by SIGINT/SIGTERM.
    Wordcount {
        /// Input file or directory: hdfs://host:port/path, hdfs://nameservice/path, or /path (fs.defaultFS).
        /// Directories are read recursively; names starting with `_` or `.` are skipped.
        #[arg(long, env = "BIGDATA_WORDCOUNT_INPUT")]
        input: String,
        /// Output directory (same forms); must not exist unless --overwrite.
        #[arg(long, env = "BIGDATA_WORDCOUNT_OUTPUT")]
        output: String,
        /// Replace the output if it exists.
        #[arg(long, env = "BIGDATA_WORDCOUNT_OVERWRITE")]
        overwrite: bool,
        /// Byte ranges read and counted at the same time (default: 2 x CPUs).
        #[arg(long, env = "BIGDATA_WORDCOUNT_PARALLELISM")]
        parallelism: Option<usize>,
        /// Bytes per range (default: each file's HDFS block size).
        #[arg(long, env = "BIGDATA_WORDCOUNT_SPLIT_SIZE", value_parser = clap::value_parser!(u64).range(1..))]
        split_size: Option<u64>,
        #[command(flatten)]
        hdfs: HdfsArgs,
        /// Serve Prometheus metrics on this address (GET /metrics) while the job runs, e.g. 0.0.0.0:9100.
        #[arg(long, env = "BIGDATA_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        #[command(flatten)]
        shard: ShardArgs,
    },
}

/// The stream's default commit interval, and the one with --land-dir.
const COMMIT_INTERVAL: Duration = Duration::from_millis(50);
const LANDING_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// The HDFS client settings of wordcount and compact.
#[derive(Debug, clap::Args)]
struct HdfsArgs {
    /// Hadoop setting KEY=VALUE over those of HADOOP_CONF_DIR (repeatable, or several separated by
    /// ';'), e.g. dfs.ha.namenodes.ns=nn1,nn2.
    #[arg(long = "hdfs-conf", value_name = "KEY=VALUE", env = "BIGDATA_HDFS_CONF",
          value_delimiter = ';', value_parser = parse_conf_pair)]
    hdfs_conf: Vec<(String, String)>,
    /// Give up when no NameNode answers the first request within this many seconds.
    #[arg(long, default_value_t = 30, env = "BIGDATA_HDFS_CONNECT_TIMEOUT")]
    connect_timeout: u64,
}

impl HdfsArgs {
    fn options(self) -> HdfsOptions {
        hdfs_options(self.hdfs_conf, self.connect_timeout)
    }
}

fn hdfs_options(conf: Vec<(String, String)>, connect_timeout_s: u64) -> HdfsOptions {
    HdfsOptions {
        conf,
        connect_timeout: Some(Duration::from_secs(connect_timeout_s.max(1))),
    }
}

/// `wordcount` across the pods of an Indexed Job.
#[derive(Debug, clap::Args)]
struct ShardArgs {
    /// Share the input among this many processes (an Indexed Job's completions): each counts its share
    /// (by bytes) into a partial, the last index merges the partials into the output.
    #[arg(long, env = "BIGDATA_WORDCOUNT_SHARDS", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    shards: Option<u32>,
    /// This process's share, 0-based (an Indexed Job sets JOB_COMPLETION_INDEX), with --shards.
    #[arg(long, env = "JOB_COMPLETION_INDEX", default_value_t = 0)]
    shard_index: u32,
    /// The run's id, the same for all its processes and new for each run (in an Indexed Job: the Job's
    /// uid), with --shards: it names the partials and marks the output as this run's.
    #[arg(long, env = "BIGDATA_WORDCOUNT_RUN_ID")]
    run_id: Option<String>,
    /// How long the last index waits for the other partials.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    merge_timeout: Duration,
}

fn table_name(name: &str) -> Result<String, String> {
    compact::parse_table_name(name).map(|_| name.to_string())
}

/// `stream --land-dir` and its HDFS settings (boxed: the `Stream` variant is large enough).
#[derive(Debug, clap::Args)]
struct LandArgs {
    /// Also land every well-formed input record, as consumed, on HDFS under this directory
    /// (hdfs://host:port/path, hdfs://nameservice/path or /path): dt=YYYY-MM-DD/part-p<partition>-o<first
    /// offset>.jsonl, one file per transaction, partition and event date, written before the
    /// transaction commits (at least once; the compact job removes duplicates).
    #[arg(long, value_name = "URL", env = "BIGDATA_STREAM_LAND_DIR")]
    land_dir: Option<String>,
    /// Hadoop setting KEY=VALUE over those of HADOOP_CONF_DIR, for --land-dir (repeatable, or several
    /// separated by ';').
    #[arg(long = "hdfs-conf", value_name = "KEY=VALUE", env = "BIGDATA_HDFS_CONF",
          value_delimiter = ';', value_parser = parse_conf_pair)]
    hdfs_conf: Vec<(String, String)>,
    /// With --land-dir: give up when no NameNode answers the first request within this many seconds.
    #[arg(long, default_value_t = 30, env = "BIGDATA_HDFS_CONNECT_TIMEOUT")]
    hdfs_connect_timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(message) = check_usage(&cli.command) {
        Cli::command()
            .error(clap::error::ErrorKind::MissingRequiredArgument, message)
            .exit();
    }
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // Already reported (before the report, which must stay the last line).
        Err(e) if e.is::<verify::ChecksFailed>() => ExitCode::FAILURE,
        Err(e) => {
            let interrupted = e.downcast_ref::<Interrupted>().copied();
            error!(error = format!("{e:#}"), "failed");
            match interrupted {
                Some(Interrupted("SIGINT")) => ExitCode::from(130),
                Some(_) => ExitCode::from(143),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// What clap cannot say: the options that other options' values need (exit 2, like clap's own errors).
fn check_usage(command: &Command) -> Result<(), String> {
    if let Command::Generate {
        format,
        topic,
        schema_registry,
        ..
    } = command
        && format.needs_registry()
    {
        let format = format.name();
        if topic.is_none() {
            return Err(format!(
                "--format {format} needs --topic (or BIGDATA_GENERATE_TOPIC): framed values go to a \
                 Kafka topic only; without --topic, generate writes JSON lines to stdout"
            ));
        }
        if schema_registry.is_none() {
            return Err(format!(
                "--format {format} needs --schema-registry URL (or BIGDATA_SCHEMA_REGISTRY_URL): the \
                 registry that gives the schema its id, e.g. http://registry:8080/apis/ccompat/v7"
            ));
        }
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hdfs_native=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Generate {
            kind,
            count,
            seed,
            stations,
            start_ms,
            step_ms,
            topic,
            bootstrap_servers,
            rate,
            partitions,
            metrics_addr,
            format,
            schema_registry,
        } => {
            let mut generator = Generator::new(kind, seed, stations, start_ms, step_ms);
            let registry = Registry::serving(metrics_addr)?;
            let metrics = generate::Metrics::new(&registry);
            if let Some(topic) = topic {
                let stop = StopFlag::on_signals()?;
                let values =
                    generate::Values::new(format, kind, &topic, schema_registry.as_deref())?;
                let target = generate::KafkaTarget {
                    bootstrap: bootstrap_servers,
                    topic,
                    rate,
                    partitions,
                };
                let summary = generate::produce_values(
                    &mut generator,
                    count,
                    &target,
                    &values,
                    &stop,
                    &metrics,
                )?;
                return match summary.interrupted {
                    Some(signal) => Err(Interrupted(signal).into()),
                    None => Ok(()),
                };
            }
            let mut out = BufWriter::new(std::io::stdout().lock());
            generate::write_lines(&mut generator, count, &mut out, &metrics)
        }
        Command::Wordcount {
            input,
            output,
            overwrite,
            parallelism,
            split_size,
            hdfs,
            metrics_addr,
            shard,
        } => {
            let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
            let options = wordcount::Options {
                input,
                output,
                overwrite,
                parallelism: parallelism.unwrap_or(2 * cpus).max(1),
                split_size,
                hdfs: hdfs.options(),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the async runtime")?;
            let registry = Registry::serving(metrics_addr)?;
            let metrics = wordcount::Metrics::new(&registry);
            let shard = match shard.shards {
                Some(count) => Some(Shard::new(
                    shard.shard_index as usize,
                    count as usize,
                    shard.run_id.unwrap_or_default(),
                    shard.merge_timeout,
                )?),
                None => None,
            };
            runtime.block_on(async {
                let shutdown = shutdown_signal()?;
                match shard {
                    Some(shard) => shard::run(&options, &shard, &metrics, shutdown)
                        .await
                        .map(|_| ()),
                    None => wordcount::run_with_metrics(&options, &metrics, shutdown)
                        .await
                        .map(|_| ()),
                }
            })
        }
        Command::Stream {
            bootstrap_servers,
            input_topic,
            output_topic,
            dead_letter_topic,
            kind,
            window,
            allowed_lateness,
            group,
            instance_id,
            commit_records,
            commit_interval,
            stop_after_idle,
            metrics_addr,
            key_gauges,
            no_create_topics,
            session_timeout,
            transaction_timeout,
            kafka_conf,
            schema_registry,
            land,
        } => {
            let stop = StopFlag::on_signals()?;
            let LandArgs {
                land_dir,
                hdfs_conf,
                hdfs_connect_timeout,
            } = *land;
            let land = land_dir.map(|dir| LandOptions {
                dir,
                hdfs: hdfs_options(hdfs_conf, hdfs_connect_timeout),
            });
            let options = stream::Options {
                bootstrap: bootstrap_servers,
                input_topic,
                output_topic,
                dead_letter_topic,
                spec: WindowSpec {
                    kind,
                    size_ms: window.as_millis() as i64,
                    lateness_ms: allowed_lateness.as_millis() as i64,
                },
                group,
                instance_id,
                commit_records: commit_records.max(1),
                commit_interval: commit_interval.unwrap_or(if land.is_some() {
                    LANDING_COMMIT_INTERVAL
                } else {
                    COMMIT_INTERVAL
                }),
                stop_after_idle,
                metrics_addr,
                key_gauges,
                create_topics: !no_create_topics,
                session_timeout,
                transaction_timeout,
                kafka_conf,
                land,
                schema_registry,
            };
            stream::run(options, &stop).map(|_| ())
        }
        Command::Compact {
            input,
            table,
            kind,
            location,
            metastore_uri,
            metastore_timeout,
            hdfs,
            shards,
            shard_index,
        } => {
            let shard = shards
                .map(|count| compact::DateShard::new(shard_index, count))
                .transpose()?;
            let options = compact::Options {
                input,
                table,
                kind,
                location,
                metastore_uri,
                metastore_timeout,
                hdfs: hdfs.options(),
                shard,
            };
            let summary = compact::run(&options)?;
            let json = serde_json::to_string(&summary).context("failed to render the summary")?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{json}")
                .and_then(|_| out.flush())
                .context("failed to write the summary")
        }
        Command::Verify { report, timeout } => {
            let targets = verify::Targets::from_env();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the async runtime")?;
            let result = runtime.block_on(verify::run(&targets, timeout));
            // Probes may leave librdkafka/hdfs-native tasks behind: do not wait for them.
            runtime.shutdown_timeout(Duration::from_secs(1));
            let failed = result.checks.iter().filter(|c| !c.ok).count();
            let verdict = if targets.is_empty() {
                Some(
                    "nothing to verify: set BIGDATA_KAFKA_BOOTSTRAP, BIGDATA_HDFS_URL, BIGDATA_MYSQL_ADDRESS, \
                     BIGDATA_METASTORE_URI, BIGDATA_SPARK_HISTORY_URL or BIGDATA_SCHEMA_REGISTRY_URL"
                        .to_string(),
                )
            } else if failed > 0 {
                Some(format!("{failed} of {} checks failed", result.checks.len()))
            } else {
                None
            };
            // Everything on stderr comes before the report, so that the report stays the last line of a
            // pod's log (stdout and stderr interleaved).
            if let Some(v) = &verdict {
                error!(error = v.as_str(), "verify: failed");
            }
            match report {
                ReportFormat::Json => {
                    for line in result.lines() {
                        eprintln!("{line}");
                    }
                    let json =
                        serde_json::to_string(&result).context("failed to render the report")?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{json}")
                        .and_then(|_| out.flush())
                        .context("failed to write the report")?;
                }
                ReportFormat::Text => {
                    for line in result.lines() {
                        println!("{line}");
                    }
                }
            }
            match verdict {
                Some(_) => Err(verify::ChecksFailed.into()),
                None => Ok(()),
            }
        }
    }
}

/// Resolves with the name of the first SIGTERM or SIGINT received.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("failed to handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("failed to handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}
