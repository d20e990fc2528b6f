//! The input of the batch benchmark (ci/bench.d/batch.sh): deterministic text, the same bytes for the same
//! `BYTES`, `--seed` and `--vocabulary`, written to an HDFS file (or to standard output with `-`).
//!
//!     cargo run --release -p bigdata-jobs --example batch_text -- hdfs://127.0.0.1:19820/bench/in.txt 256M --seed 42
//!
//! The text is lowercase ASCII words (so Hadoop's WordCount, which does not lowercase, Spark and
//! `bigdata-jobs wordcount`, which lowercases, count the same words) drawn from a vocabulary of
//! `--vocabulary` distinct words with a Zipf distribution (exponent 1, as natural language): the most
//! frequent words are short (1-3 letters), the rarest long (9-11 letters). Lines of 4-16 words, words
//! separated by a space, sometimes by a tab or two spaces; every line ends with `\n`, the file has exactly
//! BYTES bytes (the last byte is `\n`, after spaces rather than a word cut short). On HDFS the file is
//! written under a hidden temporary name and renamed into place when complete (replacing an existing file),
//! with `--replication` (default 1) and `--block-size` (default: the cluster's). HADOOP_CONF_DIR is honoured.
use std::collections::HashSet;
use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};
use bigdata_jobs::hdfs::{self, HdfsLocation, HdfsOptions};
use bytes::Bytes;
use clap::Parser;
use hdfs_native::WriteOptions;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHUNK: usize = 4 << 20;

#[derive(Parser)]
#[command(about = "Write deterministic text (lowercase words, Zipf-distributed) to HDFS or stdout")]
struct Args {
    /// hdfs://host:port/path, or - for standard output
    output: String,
    /// Size in bytes; suffixes K, M, G (powers of 1024)
    bytes: String,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Distinct words to draw from
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    vocabulary: u32,
    #[arg(long, default_value_t = 1)]
    replication: u32,
    #[arg(long)]
    block_size: Option<u64>,
}

/// "256M" -> 268435456.
fn parse_size(s: &str) -> anyhow::Result<u64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .with_context(|| format!("bad size '{s}' (e.g. 8M, 1G)"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" | "KIB" => 10,
        "M" | "MIB" => 20,
        "G" | "GIB" => 30,
        _ => bail!("bad size '{s}' (units: K, M, G)"),
    };
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .with_context(|| format!("size '{s}' is too large"))
}

/// Draws word ranks with a Zipf distribution (Vose's alias method: O(1) per draw).
struct Zipf {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let weights: Vec<f64> = (1..=n).map(|r| 1.0 / r as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut prob = vec![1.0; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Zipf { prob, alias }
    }

    #[inline]
    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let x = rng.next_u64();
        let i = (((x >> 32) * self.prob.len() as u64) >> 32) as usize;
        let u = (x & 0xffff_ffff) as f64 / 4_294_967_296.0;
        if u < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

/// `n` distinct lowercase words; the word of rank r has about 1 + log2(r + 1) / 2 letters.
fn vocabulary(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<u8>> {
    let mut seen = HashSet::with_capacity(n);
    let mut words = Vec::with_capacity(n);
    for rank in 0..n {
        let mut len = 1 + ((rank as f64 + 1.0).log2() / 2.0) as usize + rng.random_range(0..3);
        let mut tries = 0;
        loop {
            let word: Vec<u8> = (0..len.min(14))
                .map(|_| b'a' + rng.random_range(0..26u8))
                .collect();
            if seen.insert(word.clone()) {
                words.push(word);
                break;
            }
            tries += 1;
            if tries % 8 == 0 {
                len += 1;
            }
        }
    }
    words
}

/// Generates the text in chunks of CHUNK bytes (the last one shorter), handing each to `emit`.
fn generate(
    bytes: u64,
    seed: u64,
    vocabulary_size: usize,
    mut emit: impl FnMut(Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let words = vocabulary(&mut rng, vocabulary_size);
    let zipf = Zipf::new(words.len());
    let mut left = bytes;
    let mut line_left = 0u32;
    while left > 0 {
        let mut buf = Vec::with_capacity(CHUNK + 64);
        while buf.len() < CHUNK && (buf.len() as u64) < left {
            if line_left == 0 {
                line_left = rng.random_range(4..=16);
            }
            buf.extend_from_slice(&words[zipf.sample(&mut rng)]);
            line_left -= 1;
            if line_left == 0 {
                buf.push(b'\n');
            } else {
                match rng.random_range(0..128u32) {
                    0 | 1 => buf.push(b'\t'),
                    2 => buf.extend_from_slice(b"  "),
                    _ => buf.push(b' '),
                }
            }
        }
        if buf.len() as u64 >= left {
            // The end: no word cut in two (the bytes after the last whole word become spaces).
            buf.truncate(left as usize);
            let last = buf.len() - 1;
            let keep = buf[..last]
                .iter()
                .rposition(|b| b.is_ascii_whitespace())
                .map_or(0, |i| i + 1);
            buf[keep..last].fill(b' ');
            buf[last] = b'\n';
        }
        left -= buf.len() as u64;
        emit(buf)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bytes = parse_size(&args.bytes)?;
    if bytes == 0 {
        bail!("the size must be at least 1 byte");
    }
    let started = Instant::now();
    let (seed, vocabulary) = (args.seed, args.vocabulary as usize);
    if args.output == "-" {
        let mut out = std::io::stdout().lock();
        generate(bytes, seed, vocabulary, |chunk| {
            out.write_all(&chunk).context("failed to write to stdout")
        })?;
        out.flush()?;
        eprintln!("wrote {bytes} bytes to stdout");
        return Ok(());
    }
    let location = HdfsLocation::parse(&args.output)?;
    let client = hdfs::client(&location, &HdfsOptions::default())?;
    let tmp = location.sibling(&format!(".{}.tmp-{}", location.name(), std::process::id()));
    let mut options = WriteOptions::default()
        .overwrite(true)
        .create_parent(true)
        .replication(args.replication);
    if let Some(block) = args.block_size {
        options = options.block_size(block);
    }
    let mut writer = client
        .create(&tmp, options)
        .await
        .with_context(|| format!("failed to create {tmp}"))?;
    // Generation on its own thread, writing on this one.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let generator = std::thread::spawn(move || {
        generate(bytes, seed, vocabulary, |chunk| {
            tx.blocking_send(chunk)
                .map_err(|_| anyhow::anyhow!("the writer stopped"))
        })
    });
    let mut written = 0u64;
    let write_result = async {
        while let Some(chunk) = rx.recv().await {
            written += chunk.len() as u64;
            writer.write_bytes(Bytes::from(chunk)).await?;
        }
        writer.close().await?;
        anyhow::Ok(())
    }
    .await;
    drop(rx);
    generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))??;
    if let Err(e) = write_result {
        let _ = client.delete(&tmp, false).await;
        return Err(e.context(format!("failed to write {tmp}")));
    }
    if written != bytes {
        bail!("wrote {written} bytes, expected {bytes}");
    }
    client
        .rename(&tmp, &location.path, true)
        .await
        .with_context(|| format!("failed to rename {tmp} to {}", location.path))?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {bytes} bytes to {} in {seconds:.1}s ({:.0} MB/s)",
        location.display(),
        bytes as f64 / 1e6 / seconds.max(1e-9)
    );
    Ok(())
}
