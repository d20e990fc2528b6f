use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use bigdata_jobs::events::{EventKind, Generator};
use clap::{Parser, Subcommand};

/// Batch and stream jobs of the bigdata platform.
#[derive(Debug, Parser)]
#[command(name = "bigdata-jobs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
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
    }
}
