//! The physical limit of the batch benchmark (ci/bench.d/batch.sh): reads the input of a wordcount the way
//! `bigdata-jobs wordcount` does (the same byte ranges, one per HDFS block by default, `--parallelism` of
//! them at a time, each streamed from the DataNodes with hdfs-native) and throws the bytes away.
//!
//!     cargo run --release -p bigdata-jobs --example hdfs_read -- hdfs://127.0.0.1:19820/data/in.txt
//!
//! Prints one line on stdout: `bytes=N ranges=N parallelism=N seconds=S mb_per_s=X` (MB = 10^6 bytes).
//! The input is a file or a directory (read recursively; names starting with `_` or `.` are skipped, as
//! wordcount does). HADOOP_CONF_DIR is honoured (HA).
use std::time::Instant;

use anyhow::Context;
use bigdata_jobs::hdfs::{self, HdfsLocation, HdfsOptions};
use bigdata_jobs::wordcount::{Split, plan_splits};
use clap::Parser;
use futures::StreamExt;
use hdfs_native::Client;
use tokio::task::JoinSet;

#[derive(Parser)]
#[command(
    about = "Read HDFS files by byte range in parallel, like wordcount, and discard the bytes"
)]
struct Args {
    /// A file or a directory: hdfs://host:port/path
    input: String,
    /// Ranges read at the same time (wordcount's default: 2 x CPUs)
    #[arg(long)]
    parallelism: Option<usize>,
    /// Bytes per range (default: the file's block size, as wordcount)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    split_size: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parallelism = args.parallelism.unwrap_or(2 * cpus).max(1);
    let started = Instant::now();
    let input = HdfsLocation::parse(&args.input)?;
    let client = hdfs::client(&input, &HdfsOptions::default())?;
    let files = list(&client, &input).await?;
    let splits = plan_splits(&files, args.split_size);
    let ranges = splits.len();

    let mut pending = splits.into_iter();
    let mut tasks = JoinSet::new();
    for split in pending.by_ref().take(parallelism) {
        tasks.spawn(read_split(client.clone(), split));
    }
    let mut bytes = 0u64;
    while let Some(joined) = tasks.join_next().await {
        bytes += joined.context("a reading task failed")??;
        if let Some(split) = pending.next() {
            tasks.spawn(read_split(client.clone(), split));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "bytes={bytes} ranges={ranges} parallelism={parallelism} seconds={seconds:.3} mb_per_s={:.1}",
        bytes as f64 / 1e6 / seconds.max(1e-9)
    );
    Ok(())
}

/// The input files `(path, length, block size)`, as wordcount lists them.
async fn list(client: &Client, input: &HdfsLocation) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let status = client
        .get_file_info(&input.path)
        .await
        .with_context(|| format!("failed to read {}", input.display()))?;
    hdfs::list_input(client, input, status).await
}

/// Streams one range from the DataNodes and counts its bytes.
async fn read_split(client: Client, split: Split) -> anyhow::Result<u64> {
    let reader = client.read(&split.path).await?;
    let end = split.end.min(reader.file_length() as u64);
    if split.start >= end {
        return Ok(0);
    }
    let mut stream = reader.read_range_stream(split.start as usize, (end - split.start) as usize);
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        n += chunk
            .with_context(|| format!("failed to read {} [{}, {})", split.path, split.start, end))?
            .len() as u64;
    }
    Ok(n)
}
