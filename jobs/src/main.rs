use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bigdata_jobs::events::{EventKind, Generator};
use bigdata_jobs::hdfs::{HdfsOptions, parse_conf_pair};
use bigdata_jobs::wordcount::{self, Interrupted};
use clap::{Parser, Subcommand, ValueEnum};
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
enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write synthetic demo events (bike station status or stock ticks) as JSON lines to stdout.
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
        /// Hadoop setting KEY=VALUE over those of HADOOP_CONF_DIR (repeatable, or several separated by
        /// ';'), e.g. dfs.ha.namenodes.ns=nn1,nn2.
        #[arg(long = "hdfs-conf", value_name = "KEY=VALUE", env = "BIGDATA_HDFS_CONF",
              value_delimiter = ';', value_parser = parse_conf_pair)]
        hdfs_conf: Vec<(String, String)>,
        /// Give up when no NameNode answers the first request within this many seconds.
        #[arg(long, default_value_t = 30, env = "BIGDATA_HDFS_CONNECT_TIMEOUT")]
        connect_timeout: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
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
        } => {
            let mut generator = Generator::new(kind, seed, stations, start_ms, step_ms);
            let mut out = BufWriter::new(std::io::stdout().lock());
            for _ in 0..count {
                writeln!(out, "{}", generator.next_json()).context("failed to write to stdout")?;
            }
            out.flush().context("failed to write to stdout")
        }
        Command::Wordcount {
            input,
            output,
            overwrite,
            parallelism,
            split_size,
            hdfs_conf,
            connect_timeout,
        } => {
            let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
            let options = wordcount::Options {
                input,
                output,
                overwrite,
                parallelism: parallelism.unwrap_or(2 * cpus).max(1),
                split_size,
                hdfs: HdfsOptions {
                    conf: hdfs_conf,
                    connect_timeout: Some(Duration::from_secs(connect_timeout.max(1))),
                },
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the async runtime")?;
            runtime.block_on(async {
                let shutdown = shutdown_signal()?;
                wordcount::run(&options, shutdown).await.map(|_| ())
            })
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
