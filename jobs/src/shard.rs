//! `wordcount` across pods: a Kubernetes Indexed Job runs N processes (`--shards N`, each with its
//! `JOB_COMPLETION_INDEX`); every one plans the same byte ranges of the input and counts a contiguous
//! share of them balanced by bytes. Each writes its sorted partial counts to
//! `<output parent>/.<output name>.shards-<run id>/part-<index>` (a temporary name renamed into place, so a
//! retried pod replaces its own partial and nothing else). The last index then waits for every partial,
//! merges them (a k-way merge of sorted files), writes the output atomically like a single-process run,
//! with the run id in `_SUCCESS`, and removes the partials. A process that finds the output already
//! committed by its run id exits at once: retries after the merge are harmless.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hdfs_native::{Client, HdfsError, WriteOptions};
use tracing::info;

use crate::hdfs::{self, HdfsLocation};
use crate::wordcount::{
    self, Interrupted, Metrics, Options, PART_FILE, SUCCESS_FILE, Split, plan_splits,
};

/// This process's place in a sharded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// 0-based (an Indexed Job's `JOB_COMPLETION_INDEX`).
    pub index: usize,
    /// How many processes share the input (the Job's `completions`).
    pub count: usize,
    /// The same for every process of one run, different between runs (e.g. the Job's uid).
    pub run_id: String,
    /// How long the merging process waits for the other partials.
    pub merge_timeout: Duration,
}

impl Shard {
    /// Checks the shard settings; the errors name the flags.
    pub fn new(
        index: usize,
        count: usize,
        run_id: String,
        merge_timeout: Duration,
    ) -> anyhow::Result<Shard> {
        check_index(index, count)?;
        if run_id.is_empty()
            || !run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "--run-id '{run_id}': give every run its own id of letters, digits, - and _ (in an Indexed Job: \
                 the Job's uid, from the label batch.kubernetes.io/controller-uid)"
            );
        }
        Ok(Shard {
            index,
            count,
            run_id,
            merge_timeout,
        })
    }

    fn is_merger(&self) -> bool {
        self.index + 1 == self.count
    }
}

/// Checks `--shard-index` against `--shards` (wordcount's and compact's); the errors name the flags.
pub fn check_index(index: usize, count: usize) -> anyhow::Result<()> {
    if count == 0 {
        bail!("--shards must be at least 1");
    }
    if index >= count {
        bail!(
            "--shard-index {index} is not below --shards {count} (indexes are 0 to {})",
            count - 1
        );
    }
    Ok(())
}

/// The splits of shard `index` of `count`: contiguous in plan order, cut where the running byte total
/// crosses `i * total / count`, so the shares differ by at most one split's bytes.
pub fn shard_splits(splits: &[Split], index: usize, count: usize) -> Vec<Split> {
    let total: u64 = splits.iter().map(|s| s.end - s.start).sum();
    let bound = |i: usize| (u128::from(total) * i as u128 / count.max(1) as u128) as u64;
    let (from, to) = (bound(index), bound(index + 1));
    let mut offset = 0;
    let mut mine = Vec::new();
    for split in splits {
        if offset >= from && offset < to {
            mine.push(split.clone());
        }
        offset += split.end - split.start;
    }
    mine
}

/// Merges sorted `word\tcount` files into one sorted `word\tcount` text, adding the counts of a word
/// found in several.
pub fn merge_sorted(parts: &[Bytes]) -> anyhow::Result<Vec<u8>> {
    let mut lines: Vec<_> = parts.iter().map(|p| p.split(|b| *b == b'\n')).collect();
    let mut heap = BinaryHeap::new();
    let parse = |line: &[u8]| -> anyhow::Result<Option<(Vec<u8>, u64)>> {
        if line.is_empty() {
            return Ok(None);
        }
        let tab = line.iter().rposition(|b| *b == b'\t').ok_or_else(|| {
            anyhow!(
                "a partial line has no tab: {}",
                String::from_utf8_lossy(line)
            )
        })?;
        let n = std::str::from_utf8(&line[tab + 1..])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                anyhow!(
                    "a partial line has no count: {}",
                    String::from_utf8_lossy(line)
                )
            })?;
        Ok(Some((line[..tab].to_vec(), n)))
    };
    let next = |i: usize, lines: &mut Vec<std::slice::Split<'_, u8, _>>| -> anyhow::Result<_> {
        for line in lines[i].by_ref() {
            if let Some(entry) = parse(line)? {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    };
    for i in 0..lines.len() {
        if let Some((word, n)) = next(i, &mut lines)? {
            heap.push(Reverse((word, i, n)));
        }
    }
    let mut out = Vec::new();
    let mut current: Option<(Vec<u8>, u64)> = None;
    while let Some(Reverse((word, i, n))) = heap.pop() {
        match &mut current {
            Some((w, total)) if *w == word => *total += n,
            _ => {
                if let Some((w, total)) = current.take() {
                    push(&mut out, &w, total);
                }
                current = Some((word, n));
            }
        }
        if let Some((word, n)) = next(i, &mut lines)? {
            heap.push(Reverse((word, i, n)));
        }
    }
    if let Some((w, total)) = current {
        push(&mut out, &w, total);
    }
    Ok(out)
}

fn push(out: &mut Vec<u8>, word: &[u8], n: u64) {
    out.extend_from_slice(word);
    out.push(b'\t');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'\n');
}

/// What this process did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardOutcome {
    /// The output was already committed by this run.
    AlreadyDone,
    /// This shard's partial is written (not the merger).
    PartialWritten { splits: usize, bytes: u64 },
    /// The partials are merged into the output.
    Merged { splits: usize, bytes: u64 },
}

/// Runs one shard (and, for the last index, the merge).
pub async fn run(
    options: &Options,
    shard: &Shard,
    metrics: &Metrics,
    shutdown: impl Future<Output = &'static str>,
) -> anyhow::Result<ShardOutcome> {
    let started = Instant::now();
    let input = HdfsLocation::parse(&options.input).context("bad --input")?;
    let output = HdfsLocation::parse(&options.output).context("bad --output")?;
    if output.path == "/" {
        bail!("--output must not be the root directory");
    }
    if input.fs == output.fs && (output.is_within(&input) || input.is_within(&output)) {
        bail!(
            "--output {} and --input {} overlap; choose an output outside the input",
            output.display(),
            input.display()
        );
    }
    let in_client = hdfs::client(&input, &options.hdfs)?;
    let out_client = if input.fs == output.fs {
        in_client.clone()
    } else {
        hdfs::client(&output, &options.hdfs)?
    };
    let shard_dir = output.sibling(&format!(".{}.shards-{}", output.name(), shard.run_id));
    let mut shutdown = std::pin::pin!(shutdown);

    let work = async {
        if committed_by(&out_client, &output, &shard.run_id).await? {
            info!(output = %output.display(), run_id = %shard.run_id, "wordcount: the output is already committed by this run");
            return Ok(ShardOutcome::AlreadyDone);
        }
        let status =
            hdfs::first_request(&input, &options.hdfs, in_client.get_file_info(&input.path))
                .await?
                .map_err(|e| match e {
                    HdfsError::FileNotFound(_) => {
                        anyhow!("input {} does not exist", input.display())
                    }
                    e => anyhow!(e).context(format!("failed to read input {}", input.display())),
                })?;
        let files = hdfs::list_input(&in_client, &input, status).await?;
        let splits = shard_splits(
            &plan_splits(&files, options.split_size),
            shard.index,
            shard.count,
        );
        let bytes: u64 = splits.iter().map(|s| s.end - s.start).sum();
        info!(
            shard = shard.index,
            shards = shard.count,
            splits = splits.len(),
            bytes,
            "wordcount: counting this shard's share"
        );
        let (counts, _) =
            wordcount::count_splits(&in_client, splits.clone(), options.parallelism, metrics)
                .await?;
        let mut partial = Vec::new();
        for (word, n) in wordcount::sorted(counts) {
            wordcount::push_line(&mut partial, &word, n);
        }
        let part = format!("{shard_dir}/part-{:05}", shard.index);
        replace_file(&out_client, &shard_dir, &part, partial)
            .await
            .with_context(|| format!("failed to write the partial {part}"))?;
        info!(part = %part, seconds = started.elapsed().as_secs_f64(), "wordcount: partial written");
        if !shard.is_merger() {
            return Ok(ShardOutcome::PartialWritten {
                splits: splits.len(),
                bytes,
            });
        }
        let parts = wait_for_partials(&out_client, &shard_dir, shard).await?;
        let merged = merge_sorted(&parts)?;
        let found = out_client.get_file_info(&output.path).await;
        let existing = wordcount::output_exists(found, &output, options.overwrite)?;
        let tmp = output.sibling(&format!(".{}.tmp-{}", output.name(), shard.run_id));
        let written = async {
            replace_file(&out_client, &tmp, &format!("{tmp}/{PART_FILE}"), merged).await?;
            replace_file(
                &out_client,
                &tmp,
                &format!("{tmp}/{SUCCESS_FILE}"),
                shard.run_id.clone().into_bytes(),
            )
            .await
        };
        if let Err(e) = written.await {
            wordcount::remove_tmp(&out_client, &tmp).await;
            return Err(anyhow!(e).context(format!("failed to write the merged output to {tmp}")));
        }
        wordcount::commit(&out_client, &tmp, &output, existing).await?;
        let _ = out_client.delete(&shard_dir, true).await;
        info!(output = %output.display(), shards = shard.count, seconds = started.elapsed().as_secs_f64(), "wordcount: merged and committed");
        Ok(ShardOutcome::Merged {
            splits: splits.len(),
            bytes,
        })
    };
    tokio::select! {
        r = work => r,
        signal = &mut shutdown => Err(anyhow::Error::new(Interrupted(signal))),
    }
}

/// Whether `output/_SUCCESS` holds `run_id`.
async fn committed_by(
    client: &Client,
    output: &HdfsLocation,
    run_id: &str,
) -> anyhow::Result<bool> {
    let success = format!("{}/{SUCCESS_FILE}", output.path);
    let failed = || format!("failed to check {success}");
    match client.get_file_info(&success).await {
        Ok(status) if status.length == run_id.len() => {}
        Ok(_) | Err(HdfsError::FileNotFound(_)) => return Ok(false),
        Err(e) => return Err(anyhow!(e).context(failed())),
    }
    let reader = client.read(&success).await.with_context(failed)?;
    let data = reader
        .read_range(0, reader.file_length())
        .await
        .with_context(failed)?;
    Ok(data == run_id.as_bytes())
}

/// Writes `path` (in `dir`) through a hidden temporary file renamed over it.
async fn replace_file(
    client: &Client,
    dir: &str,
    path: &str,
    data: Vec<u8>,
) -> Result<(), HdfsError> {
    hdfs::retry("mkdirs", || client.mkdirs(dir, 0o755, true)).await?;
    let name = path.rsplit('/').next().unwrap_or(path);
    let tmp = format!("{dir}/.{name}.tmp-{:08x}", rand::random::<u32>());
    let mut writer = client
        .create(&tmp, WriteOptions::default().overwrite(true))
        .await?;
    for chunk in data.chunks(wordcount::WRITE_CHUNK) {
        writer.write_bytes(Bytes::copy_from_slice(chunk)).await?;
    }
    writer.close().await?;
    hdfs::retry("rename", || client.rename(&tmp, path, true)).await
}

/// Waits (polling every second) until the partials of every shard exist, then reads them.
async fn wait_for_partials(
    client: &Client,
    dir: &str,
    shard: &Shard,
) -> anyhow::Result<Vec<Bytes>> {
    let deadline = Instant::now() + shard.merge_timeout;
    let names: Vec<String> = (0..shard.count).map(|i| format!("part-{i:05}")).collect();
    loop {
        let present: Vec<String> = match client.list_status(dir, false).await {
            Ok(list) => list
                .into_iter()
                .filter_map(|s| s.path.rsplit('/').next().map(str::to_string))
                .collect(),
            Err(HdfsError::FileNotFound(_)) => Vec::new(),
            Err(e) => return Err(anyhow!(e).context(format!("failed to list {dir}"))),
        };
        let missing: Vec<&String> = names.iter().filter(|n| !present.contains(n)).collect();
        if missing.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            bail!(
                "the partials {} did not appear in {dir} within {}s (--merge-timeout): did those shards fail?",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                shard.merge_timeout.as_secs()
            );
        }
        info!(
            missing = missing.len(),
            "wordcount: waiting for the other shards' partials"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut parts = Vec::with_capacity(names.len());
    for name in &names {
        let path = format!("{dir}/{name}");
        let reader = client
            .read(&path)
            .await
            .with_context(|| format!("failed to read {path}"))?;
        parts.push(reader.read_range(0, reader.file_length()).await?);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wordcount::{count_text, render};

    fn splits(sizes: &[u64]) -> Vec<Split> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Split {
                path: format!("/f{i}"),
                start: 0,
                end: n,
            })
            .collect()
    }

    #[test]
    fn shares_cover_every_split_once_balanced_by_bytes() {
        let all = splits(&[
            100, 100, 100, 100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
        ]);
        for count in 1..=6 {
            let shares: Vec<Vec<Split>> =
                (0..count).map(|i| shard_splits(&all, i, count)).collect();
            let joined: Vec<Split> = shares.concat();
            assert_eq!(joined, all, "{count} shards");
            let total: u64 = 560;
            for share in &shares {
                let bytes: u64 = share.iter().map(|s| s.end).sum();
                assert!(
                    bytes.abs_diff(total / count as u64) <= 100,
                    "{count}: {bytes}"
                );
            }
        }
        assert!(shard_splits(&[], 0, 3).is_empty());
    }

    #[test]
    fn merging_partials_equals_counting_the_whole() {
        let text = "a b c a é É b\tx y z a\n".repeat(7);
        // Cut at spaces, so that the pieces' counts add up (the job cuts anywhere, by word ownership).
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        let pieces: Vec<String> = words.chunks(5).map(|c| c.concat()).collect();
        assert!(pieces.len() > 2);
        let partials: Vec<Bytes> = pieces
            .iter()
            .map(|p| Bytes::from(render(count_text(p.as_bytes()))))
            .collect();
        assert_eq!(
            merge_sorted(&partials).unwrap(),
            render(count_text(text.as_bytes()))
        );
        assert_eq!(merge_sorted(&[]).unwrap(), b"");
        assert!(merge_sorted(&[Bytes::from_static(b"word-without-count\n")]).is_err());
    }

    #[test]
    fn shard_settings_are_checked() {
        let t = Duration::from_secs(1);
        assert!(Shard::new(0, 1, "r1".into(), t).is_ok());
        assert!(
            Shard::new(2, 2, "r1".into(), t)
                .unwrap_err()
                .to_string()
                .contains("--shard-index 2")
        );
        assert!(Shard::new(0, 0, "r1".into(), t).is_err());
        assert!(
            Shard::new(0, 2, "".into(), t)
                .unwrap_err()
                .to_string()
                .contains("--run-id")
        );
        assert!(Shard::new(0, 2, "a/b".into(), t).is_err());
    }
}
