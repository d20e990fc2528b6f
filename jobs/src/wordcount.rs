//! WordCount on HDFS: the input files are cut into byte ranges (one per block by default) that are read and
//! counted in parallel; the counts are merged, sorted by word and written atomically (a hidden temporary
//! directory next to the output, renamed into place on success).
//!
//! Tokenization (exactly): a word is a maximal run of bytes that are not ASCII whitespace — space, `\t`,
//! `\n`, `\r` and form feed `\x0C` (Rust's `u8::is_ascii_whitespace`; the delimiters of Hadoop's own
//! WordCount example). Vertical tab and non-ASCII spaces (e.g. U+00A0) are part of words. A word is decoded
//! as UTF-8 (invalid sequences become U+FFFD) and lowercased with `str::to_lowercase` (Unicode's default
//! lowercase mapping). Because ASCII whitespace bytes never occur inside a multi-byte UTF-8 sequence,
//! splitting bytes at any offset is safe.
//!
//! Range ownership: a range `[start, end)` owns the words that START in it. A range that starts inside a
//! word (the byte before `start` is not whitespace) skips to the first whitespace; a word that starts
//! before `end` and runs past it is read to its end. So every word is counted exactly once whatever the
//! split size.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use futures::StreamExt;
use hdfs_native::{Client, HdfsError, WriteOptions};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::hdfs::{self, HdfsLocation, HdfsOptions};
use crate::metrics::{Metric, Registry};
use crate::word_table::{self, INLINE, WordTable};

/// The counts: word -> number of occurrences.
pub type Counts = HashMap<String, u64, foldhash::fast::RandomState>;

/// The output file in the output directory (Hadoop's reducer naming), and the marker of a finished job.
pub const PART_FILE: &str = "part-r-00000";
pub const SUCCESS_FILE: &str = "_SUCCESS";

/// How much to read at a time past the end of a range, to finish its last word.
const TAIL_CHUNK: usize = 64 * 1024;
/// Output is written to HDFS in pieces of this size.
pub(crate) const WRITE_CHUNK: usize = 4 * 1024 * 1024;

/// The delimiters: ASCII whitespace (space, \t, \n, \x0C, \r).
#[inline]
pub fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// Counts the words of one byte range, fed in pieces (see the module documentation), into a [`WordTable`]
/// (words of up to 16 bytes stored in its slots; found by one memory access, prefetched for a batch of
/// words at a time).
#[derive(Default)]
pub struct RangeCounter {
    table: WordTable,
    /// The beginning of a word that may continue in the next piece.
    carry: Vec<u8>,
    /// True while skipping the end of a word that started before the range.
    skipping: bool,
    words: u64,
    scratch: Vec<u8>,
}

/// Words counted together by [`RangeCounter::add_words`].
const BATCH: usize = 32;

/// Bytes of a `u128` (little-endian), for the scanning of 16 bytes at a time.
const ONES: u128 = u128::from_le_bytes([0x01; 16]);
const HIGH_BITS: u128 = u128::from_le_bytes([0x80; 16]);

/// The high bit of each byte of `x` below 0x21 (the candidates for ASCII whitespace), exact up to the
/// first such byte (above it a byte may be flagged wrongly: the borrow of the subtraction).
#[inline]
fn low_bytes(x: u128) -> u128 {
    x.wrapping_sub(ONES * 0x21) & !x & HIGH_BITS
}

/// `x`'s bytes, ASCII (all below 0x80), with A-Z lowercased.
#[inline]
fn ascii_lowercase(x: u128) -> u128 {
    // A byte b < 0x80 plus 0x80 - c has its high bit set iff b >= c, and no carry leaves the byte.
    let at_least_a = x + ONES * (0x80 - u128::from(b'A'));
    let above_z = x + ONES * (0x80 - u128::from(b'Z') - 1);
    let upper = at_least_a & !above_z & HIGH_BITS;
    x | (upper >> 2)
}

impl RangeCounter {
    /// A counter for a range starting at offset 0 of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// A counter for a range that starts after `previous`, the byte before the range's first byte.
    pub fn after(previous: u8) -> Self {
        Self {
            skipping: !is_delimiter(previous),
            ..Self::default()
        }
    }

    /// Counts into `table`, adding to the counts it holds (one table can count several ranges).
    pub fn with_table(self, table: WordTable) -> Self {
        Self { table, ..self }
    }

    /// Feeds the next bytes of the range.
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.skipping {
            match data.iter().position(|&b| is_delimiter(b)) {
                Some(i) => {
                    self.skipping = false;
                    data = &data[i..];
                }
                None => return,
            }
        }
        let Some(first) = data.iter().position(|&b| is_delimiter(b)) else {
            self.carry.extend_from_slice(data);
            return;
        };
        // The word in progress ends at the first delimiter.
        if self.carry.is_empty() {
            self.add(&data[..first]);
        } else {
            self.carry.extend_from_slice(&data[..first]);
            self.flush_carry();
        }
        let last = data.iter().rposition(|&b| is_delimiter(b)).unwrap_or(first);
        if last > first {
            self.add_words(data, first + 1, last);
        }
        self.carry.extend_from_slice(&data[last + 1..]);
    }

    /// Counts the words of `data[from..to]`, where `data[to]` is a delimiter.
    ///
    /// The fast path reads the 16 bytes at a word's start as one `u128`: when they hold the word's end
    /// (a delimiter) and only ASCII, the word's table key is those bytes up to the delimiter, lowercased
    /// with integer operations, and the word is counted without another pass over its bytes. Other words
    /// (longer, non-ASCII, at the end of `data`, or with control bytes) take [`Self::add`].
    fn add_words(&mut self, data: &[u8], from: usize, to: usize) {
        debug_assert!(is_delimiter(data[to]));
        // Words of the fast path wait here (key, length, hash), their slot prefetched, until BATCH of them
        // are counted together.
        let mut batch = [(0u128, 0usize, 0u64); BATCH];
        let mut pending = 0;
        let mut i = from;
        while i < to {
            if is_delimiter(data[i]) {
                i += 1;
                continue;
            }
            if let Some(bytes) = data.get(i..i + INLINE) {
                let x = u128::from_le_bytes(bytes.try_into().expect("16 bytes"));
                let low = low_bytes(x);
                let len = (low.trailing_zeros() / 8) as usize;
                // `len` < 16 and the first byte below 0x21 is a delimiter: the word is data[i..i + len].
                if len < INLINE && is_delimiter(bytes[len]) {
                    // The bits below the lowest bit of `low` (bit 8 * len + 7), less the last byte.
                    let key = x & ((low ^ (low - 1)) >> 8);
                    if key & HIGH_BITS == 0 {
                        let key = ascii_lowercase(key);
                        let h = self.table.hash_inline(key, len);
                        self.table.prefetch(h);
                        batch[pending] = (key, len, h);
                        pending += 1;
                        if pending == BATCH {
                            self.count_batch(&batch);
                            pending = 0;
                        }
                    } else {
                        self.add(&bytes[..len]);
                    }
                    i += len + 1;
                    continue;
                }
            }
            let end = data[i..to]
                .iter()
                .position(|&b| is_delimiter(b))
                .map_or(to, |n| i + n);
            self.add(&data[i..end]);
            i = end + 1;
        }
        self.count_batch(&batch[..pending]);
    }

    fn count_batch(&mut self, batch: &[(u128, usize, u64)]) {
        self.words += batch.len() as u64;
        for &(key, len, h) in batch {
            self.table.add_inline_hashed(key, len, h, 1);
        }
    }

    /// Whether the range's last word may continue past the range's end (read more with `feed_tail`).
    pub fn needs_tail(&self) -> bool {
        !self.carry.is_empty()
    }

    /// Feeds bytes after the range's end; returns true once the last word is complete.
    pub fn feed_tail(&mut self, data: &[u8]) -> bool {
        match data.iter().position(|&b| is_delimiter(b)) {
            Some(i) => {
                self.carry.extend_from_slice(&data[..i]);
                self.flush_carry();
                true
            }
            None => {
                self.carry.extend_from_slice(data);
                false
            }
        }
    }

    /// The counts and the number of words (the end of the file ends the last word).
    pub fn finish(self) -> (Counts, u64) {
        let (table, words) = self.finish_table();
        (to_counts(&table), words)
    }

    /// [`Self::finish`], the counts in a [`WordTable`] (cheaper to merge).
    pub fn finish_table(mut self) -> (WordTable, u64) {
        self.flush_carry();
        (self.table, self.words)
    }

    fn flush_carry(&mut self) {
        if !self.carry.is_empty() {
            let word = std::mem::take(&mut self.carry);
            self.add(&word);
            self.carry = word;
            self.carry.clear();
        }
    }

    /// Counts one word (any word; see [`Self::add_words`] for the fast path).
    fn add(&mut self, word: &[u8]) {
        if word.is_empty() {
            return;
        }
        self.words += 1;
        if word.is_ascii() {
            if word.len() <= INLINE {
                let key = ascii_lowercase(word_table::inline_key(word));
                self.table.add_inline(key, word.len(), 1);
            } else {
                self.scratch.clear();
                self.scratch.extend(word.iter().map(u8::to_ascii_lowercase));
                self.table.add(&self.scratch, 1);
            }
        } else {
            let key = String::from_utf8_lossy(word).to_lowercase();
            self.table.add(key.as_bytes(), 1);
        }
    }
}

/// The counts of a [`WordTable`] filled by [`RangeCounter`]s.
pub fn to_counts(table: &WordTable) -> Counts {
    let mut counts = Counts::with_capacity_and_hasher(table.len(), Default::default());
    table.for_each(|word, n| {
        let word = std::str::from_utf8(word).expect("RangeCounter stores words as UTF-8");
        counts.insert(word.to_owned(), n);
    });
    counts
}

/// Counts the words of a whole text in memory (same rules; used by tests and as the reference).
pub fn count_text(text: &[u8]) -> Counts {
    let mut counter = RangeCounter::new();
    counter.feed(text);
    counter.finish().0
}

/// The output lines `word\tcount\n`, sorted by word (byte order of UTF-8, i.e. code point order).
pub fn render(counts: Counts) -> Vec<u8> {
    let mut out = Vec::new();
    for (word, n) in sorted(counts) {
        push_line(&mut out, &word, n);
    }
    out
}

pub(crate) fn sorted(counts: Counts) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    v
}

pub(crate) fn push_line(out: &mut Vec<u8>, word: &str, n: u64) {
    out.extend_from_slice(word.as_bytes());
    out.push(b'\t');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'\n');
}

/// A byte range of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub path: String,
    pub start: u64,
    pub end: u64,
}

/// Cuts files `(path, length, block size)` into ranges of `split_size` bytes (default: the file's block
/// size). Empty files give no range.
pub fn plan_splits(files: &[(String, u64, u64)], split_size: Option<u64>) -> Vec<Split> {
    let mut splits = Vec::new();
    for (path, len, block) in files {
        let size = split_size.unwrap_or(*block).max(1);
        let mut start = 0;
        while start < *len {
            let end = (start + size).min(*len);
            splits.push(Split {
                path: path.clone(),
                start,
                end,
            });
            start = end;
        }
    }
    splits
}

/// The job's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// A file or a directory (read recursively; names starting with `_` or `.` are skipped).
    pub input: String,
    /// The output directory; must not exist unless `overwrite`.
    pub output: String,
    pub overwrite: bool,
    /// How many ranges are read and counted at the same time.
    pub parallelism: usize,
    /// Bytes per range; default the file's HDFS block size.
    pub split_size: Option<u64>,
    pub hdfs: HdfsOptions,
}

/// The run's progress, live (`--metrics-addr`).
#[derive(Clone)]
pub struct Metrics {
    input_bytes: Arc<Metric>,
    ranges: Arc<Metric>,
    bytes_read: Arc<Metric>,
    ranges_done: Arc<Metric>,
    words: Arc<Metric>,
}

impl Metrics {
    pub fn new(r: &Registry) -> Metrics {
        Metrics {
            input_bytes: r.gauge(
                "bigdata_wordcount_input_bytes",
                "Bytes of the input files (known once the input is listed).",
                &[],
            ),
            ranges: r.gauge(
                "bigdata_wordcount_ranges",
                "Byte ranges the input is cut into (known once the input is listed).",
                &[],
            ),
            bytes_read: r.counter(
                "bigdata_wordcount_bytes_read_total",
                "Input bytes read and counted (each range's own bytes: ends equal to the input's size).",
                &[],
            ),
            ranges_done: r.counter(
                "bigdata_wordcount_ranges_done_total",
                "Byte ranges read and counted.",
                &[],
            ),
            words: r.counter(
                "bigdata_wordcount_words_total",
                "Words counted (added as each range is done).",
                &[],
            ),
        }
    }
}

/// The parsed input and output and their clients (one when both are on the same file system).
pub(crate) struct Endpoints {
    pub input: HdfsLocation,
    pub output: HdfsLocation,
    pub in_client: Client,
    pub out_client: Client,
}

impl Endpoints {
    /// Parses `--input` and `--output`, refuses an output at the root or overlapping the input.
    pub fn of(options: &Options) -> anyhow::Result<Endpoints> {
        let input = HdfsLocation::parse(&options.input).context("bad --input")?;
        let output = HdfsLocation::parse(&options.output).context("bad --output")?;
        if output.path == "/" {
            bail!("--output must not be the root directory");
        }
        let same_fs = input.fs == output.fs;
        if same_fs && (output.is_within(&input) || input.is_within(&output)) {
            bail!(
                "--output {} and --input {} overlap; choose an output outside the input",
                output.display(),
                input.display()
            );
        }
        let in_client = hdfs::client(&input, &options.hdfs)?;
        let out_client = if same_fs {
            in_client.clone()
        } else {
            hdfs::client(&output, &options.hdfs)?
        };
        Ok(Endpoints {
            input,
            output,
            in_client,
            out_client,
        })
    }
}

/// What a successful run did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub output: String,
    pub files: usize,
    pub splits: usize,
    pub bytes: u64,
    pub words: u64,
    pub distinct: usize,
    pub elapsed: Duration,
}

/// The run was stopped by a signal; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub &'static str);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped by {}: the temporary output was removed, no output was written",
            self.0
        )
    }
}

impl std::error::Error for Interrupted {}

/// Runs the job. `shutdown` resolves (with the signal's name) to stop it: the work is cancelled and the
/// temporary output removed. Once the counts are written the commit (rename) is no longer interrupted.
pub async fn run(
    options: &Options,
    shutdown: impl Future<Output = &'static str>,
) -> anyhow::Result<Summary> {
    run_with_metrics(options, &Metrics::new(&Registry::default()), shutdown).await
}

/// [`run`], updating `metrics` as it goes.
pub async fn run_with_metrics(
    options: &Options,
    metrics: &Metrics,
    shutdown: impl Future<Output = &'static str>,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let Endpoints {
        input,
        output,
        in_client,
        out_client,
    } = Endpoints::of(options)?;

    // Until the work starts (while waiting for a NameNode, say), a signal stops the run at once.
    let mut shutdown = std::pin::pin!(shutdown);
    let prepare = async {
        let status = hdfs::input_status(&in_client, &input, &options.hdfs).await?;
        let found = hdfs::first_request(
            &output,
            &options.hdfs,
            out_client.get_file_info(&output.path),
        )
        .await?;
        let existing = output_exists(found, &output, options.overwrite)?;

        let files = hdfs::list_input(&in_client, &input, status).await?;
        let splits = plan_splits(&files, options.split_size);
        let bytes: u64 = files.iter().map(|f| f.1).sum();
        metrics.input_bytes.set(bytes as i64);
        metrics.ranges.set(splits.len() as i64);
        info!(
            input = %input.display(),
            output = %output.display(),
            files = files.len(),
            splits = splits.len(),
            bytes,
            parallelism = options.parallelism,
            "wordcount: planned"
        );
        anyhow::Ok((existing, files, splits, bytes))
    };
    let (existing, files, splits, bytes) = tokio::select! {
        r = prepare => r?,
        signal = &mut shutdown => return Err(anyhow::Error::new(Interrupted(signal))),
    };

    let tmp = output.sibling(&format!(
        ".{}.tmp-{:016x}",
        output.name(),
        rand::random::<u64>()
    ));
    let work = async {
        hdfs::retry("mkdirs", || out_client.mkdirs(&tmp, 0o755, true))
            .await
            .with_context(|| format!("failed to create the temporary output {tmp}"))?;
        let (counts, words) =
            count_splits(&in_client, splits.clone(), options.parallelism, metrics).await?;
        let distinct = counts.len();
        let lines = sorted(counts);
        hdfs::retry("write output", || write_output(&out_client, &tmp, &lines))
            .await
            .with_context(|| format!("failed to write the output to {tmp}"))?;
        anyhow::Ok((words, distinct))
    };
    let result = tokio::select! {
        r = work => r,
        signal = &mut shutdown => Err(anyhow::Error::new(Interrupted(signal))),
    };
    let committed = match result {
        Ok(counted) => commit(&out_client, &tmp, &output, existing)
            .await
            .map(|()| counted),
        Err(e) => Err(e),
    };
    let (words, distinct) = match committed {
        Ok(c) => c,
        Err(e) => {
            remove_tmp(&out_client, &tmp).await;
            return Err(e);
        }
    };
    let summary = Summary {
        output: output.display(),
        files: files.len(),
        splits: splits.len(),
        bytes,
        words,
        distinct,
        elapsed: started.elapsed(),
    };
    info!(
        output = %summary.output,
        files = summary.files,
        splits = summary.splits,
        bytes = summary.bytes,
        words = summary.words,
        distinct = summary.distinct,
        seconds = summary.elapsed.as_secs_f64(),
        mb_per_s = summary.bytes as f64 / 1e6 / summary.elapsed.as_secs_f64().max(1e-9),
        "wordcount: done"
    );
    Ok(summary)
}

/// Whether the output exists (from its status), refusing an existing one without `--overwrite`.
pub(crate) fn output_exists(
    found: Result<hdfs_native::client::FileStatus, HdfsError>,
    output: &HdfsLocation,
    overwrite: bool,
) -> anyhow::Result<bool> {
    match found {
        Ok(_) if !overwrite => bail!(
            "output {} already exists (pass --overwrite to replace it)",
            output.display()
        ),
        Ok(_) => Ok(true),
        Err(HdfsError::FileNotFound(_)) => Ok(false),
        Err(e) => Err(anyhow!(e).context(format!("failed to check output {}", output.display()))),
    }
}

/// Reads and counts the splits, `parallelism` at a time, and merges the counts. Each of the `parallelism`
/// tasks counts splits one after the other (the next one not yet taken) into its own [`WordTable`]: the
/// words of a split are mostly already in the table from the previous ones, and the tables are merged
/// once at the end rather than once per split.
pub(crate) async fn count_splits(
    client: &Client,
    splits: Vec<Split>,
    parallelism: usize,
    metrics: &Metrics,
) -> anyhow::Result<(Counts, u64)> {
    let workers = parallelism.max(1).min(splits.len());
    let pending = Arc::new(std::sync::Mutex::new(splits.into_iter()));
    // Dropping the set (on error or cancellation) aborts the tasks still running.
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let client = client.clone();
        let pending = pending.clone();
        let metrics = metrics.clone();
        tasks.spawn(async move {
            let mut table = WordTable::new();
            let mut words = 0;
            loop {
                let Some(split) = pending.lock().expect("no panic holding the lock").next() else {
                    break;
                };
                let (counted, n) = count_split(&client, &split, table, &metrics.bytes_read)
                    .await
                    .with_context(|| {
                        format!(
                            "failed to read {} [{}, {})",
                            split.path, split.start, split.end
                        )
                    })?;
                table = counted;
                words += n;
                metrics.ranges_done.inc();
                metrics.words.add(n as i64);
            }
            anyhow::Ok((table, words))
        });
    }
    let mut total = WordTable::new();
    let mut words = 0;
    while let Some(joined) = tasks.join_next().await {
        let (table, n) = joined.context("a counting task failed")??;
        words += n;
        if total.len() < table.len() {
            let smaller = std::mem::replace(&mut total, table);
            total.merge(&smaller);
        } else {
            total.merge(&table);
        }
    }
    Ok((to_counts(&total), words))
}

/// Counts the words that start in one split into `table` (returned with the split's number of words);
/// `bytes_read` grows by the split's bytes as they are counted.
async fn count_split(
    client: &Client,
    split: &Split,
    table: WordTable,
    bytes_read: &Metric,
) -> Result<(WordTable, u64), HdfsError> {
    let reader = client.read(&split.path).await?;
    let len = reader.file_length() as u64;
    let end = split.end.min(len);
    if split.start >= end {
        return Ok((table, 0));
    }
    // Read one byte before the split, to know whether the split starts inside a word.
    let from = split.start.saturating_sub(1);
    let mut stream = reader.read_range_stream(from as usize, (end - from) as usize);
    let mut table = Some(table);
    let mut counter: Option<RangeCounter> = None;
    if split.start == 0 {
        counter = table.take().map(|t| RangeCounter::new().with_table(t));
    }
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let mut data = &chunk[..];
        let c = match &mut counter {
            Some(c) => c,
            None => {
                let Some((&previous, rest)) = data.split_first() else {
                    continue;
                };
                data = rest;
                let table = table.take().expect("one counter per split");
                counter.insert(RangeCounter::after(previous).with_table(table))
            }
        };
        c.feed(data);
        bytes_read.add(data.len() as i64);
    }
    let mut counter = counter
        .ok_or_else(|| HdfsError::InternalError(format!("no bytes read from {}", split.path)))?;
    let mut pos = end;
    while counter.needs_tail() && pos < len {
        let n = (TAIL_CHUNK as u64).min(len - pos);
        let bytes = reader.read_range(pos as usize, n as usize).await?;
        pos += n;
        if counter.feed_tail(&bytes) {
            break;
        }
    }
    Ok(counter.finish_table())
}

/// Writes `tmp/part-r-00000` (sorted `word\tcount` lines) and `tmp/_SUCCESS`. Safe to repeat: a part
/// file left by a failed attempt is replaced.
async fn write_output(
    client: &Client,
    tmp: &str,
    lines: &[(String, u64)],
) -> Result<(), HdfsError> {
    let part = format!("{tmp}/{PART_FILE}");
    match client.delete(&part, false).await {
        Ok(_) | Err(HdfsError::FileNotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let mut writer = client.create(&part, WriteOptions::default()).await?;
    let mut buf = Vec::with_capacity(WRITE_CHUNK + 4096);
    for (word, n) in lines {
        push_line(&mut buf, word, *n);
        if buf.len() >= WRITE_CHUNK {
            writer
                .write_bytes(Bytes::from(std::mem::take(&mut buf)))
                .await?;
            buf.reserve(WRITE_CHUNK + 4096);
        }
    }
    if !buf.is_empty() {
        writer.write_bytes(Bytes::from(buf)).await?;
    }
    writer.close().await?;
    let success = format!("{tmp}/{SUCCESS_FILE}");
    client
        .create(&success, WriteOptions::default().overwrite(true))
        .await?
        .close()
        .await
}

/// Moves the finished temporary output into place. Without an existing output this is one rename, which
/// HDFS refuses if the output appeared meanwhile. With `--overwrite` the old output is first renamed
/// aside, then deleted once the new one is in place (restored if the second rename fails).
pub(crate) async fn commit(
    client: &Client,
    tmp: &str,
    output: &HdfsLocation,
    existing: bool,
) -> anyhow::Result<()> {
    if existing {
        let old = output.sibling(&format!(
            ".{}.old-{:016x}",
            output.name(),
            rand::random::<u64>()
        ));
        hdfs::retry("rename", || client.rename(&output.path, &old, false))
            .await
            .with_context(|| format!("failed to move the old output {} aside", output.display()))?;
        if let Err(e) = hdfs::retry("rename", || client.rename(tmp, &output.path, false)).await {
            if let Err(restore) =
                hdfs::retry("rename", || client.rename(&old, &output.path, false)).await
            {
                warn!(old = %old, error = %restore, "failed to restore the old output");
            }
            return Err(
                anyhow!(e).context(format!("failed to rename {tmp} to {}", output.display()))
            );
        }
        if let Err(e) = hdfs::retry("delete", || client.delete(&old, true)).await {
            warn!(old = %old, error = %e, "failed to delete the old output");
        }
        Ok(())
    } else {
        hdfs::retry("rename", || client.rename(tmp, &output.path, false))
            .await
            .map_err(|e| match e {
                HdfsError::AlreadyExists(_) => anyhow!(
                    "output {} appeared while the job ran; not replaced (pass --overwrite to replace it)",
                    output.display()
                ),
                e => anyhow!(e).context(format!("failed to rename {tmp} to {}", output.display())),
            })
    }
}

/// Best-effort removal of the temporary output after a failure.
pub(crate) async fn remove_tmp(client: &Client, tmp: &str) {
    let delete = hdfs::retry("delete", || client.delete(tmp, true));
    match tokio::time::timeout(Duration::from_secs(20), delete).await {
        Ok(Ok(_)) => info!(tmp, "removed the temporary output"),
        Ok(Err(HdfsError::FileNotFound(_))) => {}
        Ok(Err(e)) => warn!(tmp, error = %e, "failed to remove the temporary output"),
        Err(_) => warn!(tmp, "timed out removing the temporary output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `text` cut into ranges of `size` bytes, each fed in pieces of `piece` bytes, as the job does.
    fn count_in_ranges(text: &[u8], size: usize, piece: usize) -> Counts {
        let mut total = Counts::default();
        let mut start = 0;
        while start < text.len() {
            let end = (start + size).min(text.len());
            let mut c = if start == 0 {
                RangeCounter::new()
            } else {
                RangeCounter::after(text[start - 1])
            };
            for p in text[start..end].chunks(piece) {
                c.feed(p);
            }
            let mut pos = end;
            while c.needs_tail() && pos < text.len() {
                let n = piece.min(text.len() - pos);
                let done = c.feed_tail(&text[pos..pos + n]);
                pos += n;
                if done {
                    break;
                }
            }
            for (word, n) in c.finish().0 {
                *total.entry(word).or_insert(0) += n;
            }
            start = end;
        }
        total
    }

    fn reference(text: &str) -> Counts {
        let mut m = Counts::default();
        for w in text.split_ascii_whitespace() {
            *m.entry(w.to_lowercase()).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn tokenizes_on_ascii_whitespace_and_lowercases() {
        let text = "The the\tTHE\r\nÉté été\x0Cfoo\x0Bbar  a\u{a0}b \n";
        let counts = count_text(text.as_bytes());
        assert_eq!(counts.get("the"), Some(&3));
        assert_eq!(counts.get("été"), Some(&2));
        assert_eq!(counts.get("foo\x0bbar"), Some(&1));
        assert_eq!(counts.get("a\u{a0}b"), Some(&1));
        assert_eq!(counts.len(), 4);
        assert_eq!(counts, reference(text));
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        let counts = count_text(b"ab\xffC ab\xffc");
        assert_eq!(counts.get("ab\u{fffd}c"), Some(&2));
    }

    #[test]
    fn any_split_and_piece_size_gives_the_same_counts() {
        let text = "  Lorem ipsum DOLOR sit amet,\tconsectetur\n\nadipiscing élit; sed do eiusmod \
                    tempor ΟΔΟΣ incididunt ut labore et dolore magna aliqua.  averyveryverylongwordthatspansmanyranges x";
        let expected = reference(text);
        for size in 1..40 {
            for piece in [1, 2, 3, 7, 64] {
                assert_eq!(
                    count_in_ranges(text.as_bytes(), size, piece),
                    expected,
                    "split size {size}, piece {piece}"
                );
            }
        }
    }

    /// Texts of words of 1 to 40 bytes (around the 16 bytes of the fast path) from an alphabet with upper
    /// case, non-ASCII letters, control bytes that are not delimiters (NUL, vertical tab), `!` (0x21, the
    /// first byte above the delimiters), every delimiter, runs of delimiters; cut into ranges and pieces.
    #[test]
    fn fast_path_matches_the_reference() {
        const ALPHABET: [&str; 12] = [
            "a", "z", "A", "Z", "É", "ω", "Ω", "\0", "\x0b", "!", "@", "[",
        ];
        const DELIMITERS: [&str; 7] = [" ", "\t", "\n", "\r", "\x0c", "  ", " \n\t"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..20 {
            let mut text = String::new();
            for _ in 0..200 {
                let len = 1 + next(40);
                for _ in 0..len {
                    // Mostly plain lowercase letters, as in real text.
                    let letter = if next(4) == 0 {
                        next(ALPHABET.len())
                    } else {
                        next(2)
                    };
                    text.push_str(ALPHABET[letter]);
                }
                text.push_str(DELIMITERS[next(DELIMITERS.len())]);
            }
            let expected = reference(&text);
            assert_eq!(count_text(text.as_bytes()), expected);
            // Without the last delimiter: the last word ends the text.
            let trimmed = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
            assert_eq!(count_text(trimmed.as_bytes()), reference(trimmed));
            for (size, piece) in [(7, 3), (100, 17), (1000, 64), (4096, 4096)] {
                assert_eq!(count_in_ranges(text.as_bytes(), size, piece), expected);
            }
        }
    }

    #[test]
    fn renders_sorted_lines() {
        let out = render(count_text("b a B c a ä".as_bytes()));
        assert_eq!(String::from_utf8(out).unwrap(), "a\t2\nb\t2\nc\t1\nä\t1\n");
    }

    #[test]
    fn plans_splits() {
        let files = vec![("/a".to_string(), 10, 4), ("/b".to_string(), 0, 4)];
        let s = plan_splits(&files, None);
        assert_eq!(
            s.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            vec![(0, 4), (4, 8), (8, 10)]
        );
        assert_eq!(plan_splits(&files, Some(100)).len(), 1);
    }
}
