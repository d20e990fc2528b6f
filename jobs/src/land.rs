//! Landing of the stream's raw input on HDFS (`bigdata-jobs stream --land-dir`), for the `compact` batch
//! job.
//!
//! Every well-formed input record that the stream processes (accepted into a window, or late; not the
//! malformed ones, which only go to the dead-letter topic, and not the records re-read after a restart to
//! rebuild the open windows) is kept, as consumed, in the current transaction's [`Batch`]. Before that
//! transaction is committed, [`Lander::flush`] writes the batch to
//!
//! ```text
//! <land-dir>/dt=YYYY-MM-DD/part-p<partition>-o<first offset>.jsonl
//! ```
//!
//! one file per (transaction, input partition, UTC date of the record's event time), holding that
//! transaction's records of that partition and date in offset order, one JSON object per line. Each file is
//! written to `.part-p<partition>-o<first offset>.jsonl.tmp` in the same directory, closed, then renamed
//! over the final name. A failed flush fails the transaction (it is aborted and the job ends), so nothing
//! is committed as consumed before it is on HDFS. After a crash the records of the transaction that was
//! open are consumed again from the committed offset, so the batch that is landed again starts at the same
//! offset and rewrites the same file name: landing is at-least-once with deterministic names, and the
//! `compact` job removes the duplicates a crash can leave (by key and event time).
//!
//! The pure part (grouping into files, naming, dates) is [`Batch`]; [`Lander`] adds the HDFS client and a
//! small tokio runtime of its own, since hdfs-native is async and the stream's Kafka loop is not: each
//! flush is one `block_on` on the stream's thread, and the client's connection tasks run on the runtime's
//! one worker thread in between.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use hdfs_native::{Client, HdfsError, WriteOptions};
use tracing::{debug, info, warn};

use crate::date::Date;
use crate::hdfs::{self, HdfsLocation, HdfsOptions};
use crate::metrics::{Metric, Registry};

/// One file to land: the records of one input partition and one date, in offset order.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingFile {
    pub date: Date,
    pub partition: i32,
    /// The offset of the file's first record (part of its name).
    pub first_offset: i64,
    pub records: u64,
    /// The lines, each ending with `\n`.
    pub data: Vec<u8>,
}

impl PendingFile {
    /// `part-p<partition>-o<first offset>.jsonl`
    pub fn name(&self) -> String {
        format!("part-p{}-o{}.jsonl", self.partition, self.first_offset)
    }

    /// `.part-p<partition>-o<first offset>.jsonl.tmp`: hidden (readers skip names starting with `.`), in
    /// the same directory as the final name.
    pub fn tmp_name(&self) -> String {
        format!(".{}.tmp", self.name())
    }

    /// `dt=YYYY-MM-DD/part-p<partition>-o<first offset>.jsonl`, relative to the landing directory.
    pub fn relative_path(&self) -> String {
        format!("{}/{}", self.date.dir_name(), self.name())
    }
}

/// Appends `payload` as one line: surrounding whitespace removed, CR and LF inside replaced by spaces
/// (in valid JSON they can only be whitespace between tokens: inside strings they must be escaped), so a
/// pretty-printed record still takes exactly one line and means the same.
pub fn push_line(out: &mut Vec<u8>, payload: &[u8]) {
    let start = payload
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(payload.len());
    let end = payload
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    let trimmed = &payload[start..end];
    if trimmed.iter().any(|&b| b == b'\n' || b == b'\r') {
        out.extend(trimmed.iter().map(|&b| match b {
            b'\n' | b'\r' => b' ',
            b => b,
        }));
    } else {
        out.extend_from_slice(trimmed);
    }
    out.push(b'\n');
}

/// The records of one transaction, grouped into the files they land in.
#[derive(Debug, Default)]
pub struct Batch {
    files: BTreeMap<(i32, Date), PendingFile>,
    records: u64,
    bytes: u64,
}

impl Batch {
    /// Adds a record. Records of one partition must come in offset order (the first one added for a
    /// partition and date names the file).
    pub fn add(&mut self, partition: i32, offset: i64, event_time_ms: i64, payload: &[u8]) {
        let date = Date::from_epoch_ms(event_time_ms);
        let file = self
            .files
            .entry((partition, date))
            .or_insert_with(|| PendingFile {
                date,
                partition,
                first_offset: offset,
                records: 0,
                data: Vec::new(),
            });
        let before = file.data.len();
        push_line(&mut file.data, payload);
        file.records += 1;
        self.records += 1;
        self.bytes += (file.data.len() - before) as u64;
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The files, by partition then date.
    pub fn files(&self) -> impl Iterator<Item = &PendingFile> {
        self.files.values()
    }

    pub fn clear(&mut self) {
        self.files.clear();
        self.records = 0;
        self.bytes = 0;
    }
}

/// Where to land.
#[derive(Debug, Clone)]
pub struct LandOptions {
    /// The landing directory: `hdfs://host:port/path`, `hdfs://nameservice/path` or `/path`.
    pub dir: String,
    pub hdfs: HdfsOptions,
}

struct LandMetrics {
    records: Arc<Metric>,
    files: Arc<Metric>,
    bytes: Arc<Metric>,
}

impl LandMetrics {
    fn new(r: &Registry) -> LandMetrics {
        LandMetrics {
            records: r.counter(
                "bigdata_stream_landed_records_total",
                "Input records written to the landing directory on HDFS (before their transaction's commit).",
                &[],
            ),
            files: r.counter(
                "bigdata_stream_landed_files_total",
                "Files written to the landing directory on HDFS.",
                &[],
            ),
            bytes: r.counter(
                "bigdata_stream_landed_bytes_total",
                "Bytes written to the landing directory on HDFS.",
                &[],
            ),
        }
    }
}

/// How many files of one flush are written at the same time.
const PARALLEL_FILES: usize = 8;
/// Files are handed to the client in pieces of this size.
const WRITE_CHUNK: usize = 4 * 1024 * 1024;

/// Writes the batches to HDFS (see the module documentation).
pub struct Lander {
    root: HdfsLocation,
    client: Client,
    batch: Batch,
    metrics: LandMetrics,
    runtime: tokio::runtime::Runtime,
}

impl Lander {
    /// Connects to HDFS and creates the landing directory (failing when no NameNode answers within the
    /// connect timeout); the counters are registered in `registry`.
    pub fn start(options: &LandOptions, registry: &Registry) -> anyhow::Result<Lander> {
        let root = HdfsLocation::parse(&options.dir).context("bad --land-dir")?;
        if root.path == "/" {
            bail!("--land-dir must not be the root directory");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("land")
            .enable_all()
            .build()
            .context("failed to start the landing runtime")?;
        // The client spawns its tasks on the runtime it is used in: every call below runs in `block_on`.
        let client = {
            let _entered = runtime.enter();
            hdfs::client(&root, &options.hdfs)?
        };
        runtime.block_on(async {
            let mkdirs = hdfs::retry("mkdirs", || client.mkdirs(&root.path, 0o755, true));
            hdfs::first_request(&root, &options.hdfs, mkdirs)
                .await?
                .with_context(|| {
                    format!("failed to create the landing directory {}", root.display())
                })
        })?;
        info!(land_dir = %root.display(), "stream: landing the input on HDFS");
        Ok(Lander {
            root,
            client,
            batch: Batch::default(),
            metrics: LandMetrics::new(registry),
            runtime,
        })
    }

    /// Keeps a record for the next flush.
    pub fn add(&mut self, partition: i32, offset: i64, event_time_ms: i64, payload: &[u8]) {
        self.batch.add(partition, offset, event_time_ms, payload);
    }

    /// Records added since the last flush.
    pub fn pending_records(&self) -> u64 {
        self.batch.records()
    }

    /// Writes every pending file completely (temporary name, then renamed over the final name), within
    /// `timeout`; on success the batch is emptied. On failure the batch is kept (the caller aborts the
    /// transaction and calls [`Lander::discard`]).
    pub fn flush(&mut self, timeout: Duration) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let files: Vec<&PendingFile> = self.batch.files().collect();
        let (client, root) = (&self.client, &self.root);
        let write = futures::stream::iter(files.iter().map(|f| write_file(client, root, f)))
            .buffer_unordered(PARALLEL_FILES)
            .try_collect::<Vec<()>>();
        let result = match self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, write).await })
        {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(anyhow::anyhow!(
                "failed to land {} records in {} files on {}: not written within {}s",
                self.batch.records(),
                files.len(),
                self.root.display(),
                timeout.as_secs_f64()
            )),
        };
        if let Err(e) = result {
            // The writes still running were cancelled: remove their temporary files (best effort; one left
            // behind is hidden, and replaced when the same records are landed again).
            self.runtime
                .block_on(remove_tmp_files(client, root, &files));
            return Err(e);
        }
        self.metrics.records.add(self.batch.records() as i64);
        self.metrics.files.add(files.len() as i64);
        self.metrics.bytes.add(self.batch.bytes() as i64);
        debug!(
            records = self.batch.records(),
            files = files.len(),
            bytes = self.batch.bytes(),
            millis = started.elapsed().as_millis() as u64,
            "stream: records landed"
        );
        self.batch.clear();
        Ok(())
    }

    /// Forgets the pending records (their transaction was aborted: they will be consumed again).
    pub fn discard(&mut self) {
        self.batch.clear();
    }

    /// Records, files and bytes landed so far.
    pub fn totals(&self) -> (i64, i64, i64) {
        (
            self.metrics.records.get(),
            self.metrics.files.get(),
            self.metrics.bytes.get(),
        )
    }
}

/// Attempts of one landing file's write (see [`is_transient_write_error`]).
const WRITE_ATTEMPTS: u32 = 3;

/// Whether a failed write may succeed when repeated: the data path failed (a DataNode's pipeline or
/// connection, a checksum), or the NameNode found no DataNode to take the block at that moment. Not an
/// answer about the path itself (not a directory, no permission...): that fails the same way again.
fn is_transient_write_error(e: &HdfsError) -> bool {
    match e {
        HdfsError::DataTransferError(_) | HdfsError::IOError(_) | HdfsError::ChecksumError => true,
        HdfsError::RPCError(class, message) => {
            class == "java.io.IOException" && message.contains("could only be written to")
        }
        _ => false,
    }
}

/// An HDFS error in one line: a NameNode's answer carries the Java stack trace, only its first line is
/// kept (`org.apache.hadoop.fs.ParentNotDirectoryException: /x/dt=… (is not a directory)`).
fn brief(e: &HdfsError) -> String {
    match e {
        HdfsError::RPCError(class, message) | HdfsError::FatalRPCError(class, message) => {
            let first = message.lines().next().unwrap_or("").trim();
            let first = first
                .strip_prefix(class.as_str())
                .map_or(first, |rest| rest.trim_start_matches(':').trim());
            format!("{class}: {first}")
        }
        e => e.to_string(),
    }
}

/// Writes one file to its temporary name (replacing one left by an earlier attempt), then renames it over
/// the final name.
async fn write_file(
    client: &Client,
    root: &HdfsLocation,
    file: &PendingFile,
) -> anyhow::Result<()> {
    let dir = format!("{}/{}", root.path, file.date.dir_name());
    let tmp = format!("{dir}/{}", file.tmp_name());
    let path = format!("{dir}/{}", file.name());
    let data = Bytes::copy_from_slice(&file.data);
    let write_once = || {
        hdfs::retry("write", || {
            let (tmp, data) = (&tmp, data.clone());
            async move {
                let options = WriteOptions::default().overwrite(true).create_parent(true);
                let mut writer = client.create(tmp, options).await?;
                let mut pos = 0;
                while pos < data.len() {
                    let end = (pos + WRITE_CHUNK).min(data.len());
                    writer.write_bytes(data.slice(pos..end)).await?;
                    pos = end;
                }
                writer.close().await
            }
        })
    };
    // A write is repeatable (the temporary file is overwritten): a failed DataNode pipeline is written again,
    // a few times, within the flush's timeout, instead of failing the transaction.
    let mut attempt = 1;
    let written = loop {
        match write_once().await {
            Err(e) if attempt < WRITE_ATTEMPTS && is_transient_write_error(&e) => {
                warn!(path = tmp, attempt, error = %brief(&e), "stream: landing write failed; writing it again");
                tokio::time::sleep(Duration::from_millis(500 * attempt as u64)).await;
                attempt += 1;
            }
            r => break r,
        }
    };
    written.map_err(|e| {
        anyhow::anyhow!(
            "failed to write {}{tmp}: {}",
            root.fs.as_deref().unwrap_or(""),
            brief(&e)
        )
    })?;
    // Two writers of one partition (the new owner, and a zombie that has not yet noticed it lost the
    // partition) land the same records from the same first offset; the one that read further wrote the
    // longer file, which holds the other's records too. Never replace it with a shorter one.
    if let Ok(existing) = client.get_file_info(&path).await
        && existing.length > data.len()
    {
        info!(
            path,
            existing = existing.length,
            ours = data.len(),
            "stream: a longer landing file from the same offset exists: kept it"
        );
        let _ = client.delete(&tmp, false).await;
        return Ok(());
    }
    hdfs::retry("rename", || client.rename(&tmp, &path, true))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "failed to rename {tmp} to {path} on {}: {}",
                root.fs.as_deref().unwrap_or("fs.defaultFS"),
                brief(&e)
            )
        })
}

/// Deletes the temporary files of `files` that exist (after a failed flush), within 10 s.
async fn remove_tmp_files(client: &Client, root: &HdfsLocation, files: &[&PendingFile]) {
    let remove = futures::stream::iter(files.iter().map(|f| async move {
        let tmp = format!("{}/{}/{}", root.path, f.date.dir_name(), f.tmp_name());
        match client.delete(&tmp, false).await {
            Ok(true) => info!(tmp, "stream: removed a temporary landing file"),
            Ok(false) | Err(HdfsError::FileNotFound(_)) => {}
            Err(e) => {
                warn!(
                    tmp,
                    error = brief(&e),
                    "stream: failed to remove a temporary landing file"
                )
            }
        }
    }))
    .buffer_unordered(PARALLEL_FILES)
    .collect::<Vec<()>>();
    if tokio::time::timeout(Duration::from_secs(10), remove)
        .await
        .is_err()
    {
        warn!("stream: timed out removing the temporary landing files");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdfs_errors_in_one_line() {
        let e = HdfsError::RPCError(
            "org.apache.hadoop.fs.ParentNotDirectoryException".into(),
            "/l/dt=2023-11-15 (is not a directory)\n\tat org.apache.hadoop.X(X.java:1)\n".into(),
        );
        assert_eq!(
            brief(&e),
            "org.apache.hadoop.fs.ParentNotDirectoryException: /l/dt=2023-11-15 (is not a directory)"
        );
        let e = HdfsError::RPCError(
            "org.apache.hadoop.ipc.RetriableException".into(),
            "org.apache.hadoop.ipc.RetriableException: safe mode\n\tat x".into(),
        );
        assert_eq!(
            brief(&e),
            "org.apache.hadoop.ipc.RetriableException: safe mode"
        );
    }

    #[test]
    fn only_data_path_failures_are_written_again() {
        assert!(is_transient_write_error(&HdfsError::DataTransferError(
            "connection reset".into()
        )));
        assert!(is_transient_write_error(&HdfsError::IOError(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset)
        )));
        assert!(is_transient_write_error(&HdfsError::RPCError(
            "java.io.IOException".into(),
            "File /l/x could only be written to 0 of the 1 minReplication nodes.".into()
        )));
        assert!(!is_transient_write_error(&HdfsError::RPCError(
            "org.apache.hadoop.fs.ParentNotDirectoryException".into(),
            "/l/dt=2023-11-15 (is not a directory)".into()
        )));
        assert!(!is_transient_write_error(&HdfsError::RPCError(
            "org.apache.hadoop.security.AccessControlException".into(),
            "Permission denied".into()
        )));
    }

    #[test]
    fn lines_are_single_line_json() {
        let mut out = Vec::new();
        push_line(&mut out, br#"{"a":1}"#);
        push_line(&mut out, b"  {\"a\":\r\n 2,\n\"b\":\"x\\ny\"}\n\n");
        assert_eq!(out, b"{\"a\":1}\n{\"a\":   2, \"b\":\"x\\ny\"}\n");
        let second: serde_json::Value =
            serde_json::from_slice(out.split(|&b| b == b'\n').nth(1).unwrap()).unwrap();
        assert_eq!(second, serde_json::json!({"a": 2, "b": "x\ny"}));
    }

    #[test]
    fn one_file_per_partition_and_date_named_by_first_offset() {
        let day1 = 1_700_006_399_000; // 2023-11-14
        let day2 = 1_700_006_401_000; // 2023-11-15
        let mut b = Batch::default();
        assert!(b.is_empty());
        b.add(3, 100, day1, b"{\"n\":1}");
        b.add(0, 7, day2, b"{\"n\":2}");
        b.add(3, 101, day2, b"{\"n\":3}");
        b.add(3, 102, day1, b"{\"n\":4}"); // out of order in event time: back to the first file
        b.add(3, 103, day2, b"{\"n\":5}\n");
        assert_eq!(b.records(), 5);
        assert_eq!(b.bytes(), 5 * 8);
        let files: Vec<(String, String, u64, &[u8])> = b
            .files()
            .map(|f| (f.relative_path(), f.tmp_name(), f.records, &f.data[..]))
            .collect();
        assert_eq!(
            files,
            vec![
                (
                    "dt=2023-11-15/part-p0-o7.jsonl".to_string(),
                    ".part-p0-o7.jsonl.tmp".to_string(),
                    1,
                    &b"{\"n\":2}\n"[..]
                ),
                (
                    "dt=2023-11-14/part-p3-o100.jsonl".to_string(),
                    ".part-p3-o100.jsonl.tmp".to_string(),
                    2,
                    &b"{\"n\":1}\n{\"n\":4}\n"[..]
                ),
                (
                    "dt=2023-11-15/part-p3-o101.jsonl".to_string(),
                    ".part-p3-o101.jsonl.tmp".to_string(),
                    2,
                    &b"{\"n\":3}\n{\"n\":5}\n"[..]
                ),
            ]
        );
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.files().count(), 0);
        // The next transaction's files are named by its own first offsets.
        b.add(3, 104, day2, b"{}");
        assert_eq!(
            b.files().next().unwrap().relative_path(),
            "dt=2023-11-15/part-p3-o104.jsonl"
        );
    }
}
