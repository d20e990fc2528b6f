//! CPU benchmark of the word counting (no HDFS): reads a local file into memory, counts it with
//! `RangeCounter` fed in 4 MiB pieces, as `bigdata-jobs wordcount` does with each HDFS range, and prints
//! MB/s and ns per word (the best of `--repeat` runs) and a checksum of the rendered output.
//!
//!     cargo run --release -p bigdata-jobs --example batch_text -- - 256M --seed 42 > /tmp/wc-input.txt
//!     cargo run --release -p bigdata-jobs --example wordcount_bench -- /tmp/wc-input.txt --threads 1
//!
//! `--threads N` counts on N threads; the file is cut into N ranges, or into ranges of `--split` bytes (as
//! the job cuts HDFS files into blocks, e.g. `--split 128`) shared by the threads. Each range is counted
//! by a new `RangeCounter` into its thread's table, and the tables are merged, as in
//! `wordcount::count_splits`. `--out FILE`
//! writes the rendered output (`word\tcount` lines, sorted) to compare implementations byte for byte.
use std::time::Instant;

use anyhow::Context;
use bigdata_jobs::word_table::WordTable;
use bigdata_jobs::wordcount::{Counts, RangeCounter, render, to_counts};
use clap::Parser;

const PIECE: usize = 4 << 20;

#[derive(Parser)]
#[command(about = "Count the words of a local file with RangeCounter and report the speed")]
struct Args {
    /// The text file
    input: String,
    /// Ranges counted in parallel (the file is cut into this many ranges)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// MiB per range (default: the file cut into one range per thread)
    #[arg(long)]
    split: Option<usize>,
    /// Runs; the best is reported
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Write the rendered output here
    #[arg(long)]
    out: Option<String>,
}

/// Counts `text[start..end)` as one range (with its tail past `end`) into `table`.
fn count_range(text: &[u8], start: usize, end: usize, table: WordTable) -> (WordTable, u64) {
    let c = if start == 0 {
        RangeCounter::new()
    } else {
        RangeCounter::after(text[start - 1])
    };
    let mut c = c.with_table(table);
    for piece in text[start..end].chunks(PIECE) {
        c.feed(piece);
    }
    let mut pos = end;
    while c.needs_tail() && pos < text.len() {
        let n = (64 << 10).min(text.len() - pos);
        let done = c.feed_tail(&text[pos..pos + n]);
        pos += n;
        if done {
            break;
        }
    }
    c.finish_table()
}

fn count(text: &[u8], threads: usize, split: Option<usize>) -> (Counts, u64) {
    let threads = threads.max(1);
    let size = split
        .map_or(text.len().div_ceil(threads), |mib| mib << 20)
        .max(1);
    let ranges: Vec<(usize, usize)> = (0..text.len().div_ceil(size))
        .map(|i| (i * size, ((i + 1) * size).min(text.len())))
        .collect();
    let parts: Vec<(WordTable, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ranges = &ranges;
                // One table per thread, as each task of the job keeps one.
                s.spawn(move || {
                    let mut table = WordTable::new();
                    let mut words = 0;
                    for &(start, end) in ranges.iter().skip(t).step_by(threads) {
                        let (counted, n) = count_range(text, start, end, table);
                        table = counted;
                        words += n;
                    }
                    (table, words)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Merged as `wordcount::count_splits` does.
    let mut total = WordTable::new();
    let mut words = 0;
    for (table, n) in parts {
        words += n;
        if total.len() < table.len() {
            let smaller = std::mem::replace(&mut total, table);
            total.merge(&smaller);
        } else {
            total.merge(&table);
        }
    }
    (to_counts(&total), words)
}

/// FNV-1a, 64 bits.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text =
        std::fs::read(&args.input).with_context(|| format!("failed to read {}", args.input))?;
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        let counted = count(&text, args.threads, args.split);
        let secs = started.elapsed().as_secs_f64();
        best = best.min(secs);
        result = Some(counted);
    }
    let (counts, words) = result.expect("at least one run");
    let distinct = counts.len();
    let out = render(counts);
    println!(
        "{} bytes, {} threads: {:.1} MB/s, {:.2} ns/word ({} words, {} distinct, best of {} runs: {:.3} s), output checksum {:016x}",
        text.len(),
        args.threads,
        text.len() as f64 / 1e6 / best,
        best * 1e9 / words as f64,
        words,
        distinct,
        args.repeat.max(1),
        best,
        checksum(&out)
    );
    if let Some(path) = args.out {
        std::fs::write(&path, &out).with_context(|| format!("failed to write {path}"))?;
    }
    Ok(())
}
