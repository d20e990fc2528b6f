//! Helpers of the tests of `stream --land-dir` on the real HDFS of `ci/hdfs up`: the landed files read back
//! and checked against the input records that must be there.

use std::collections::BTreeMap;

use serde_json::Value;

use super::kafka::{Expected, Rec};

/// Midnight UTC between 2023-11-14 and 2023-11-15, in ms since the epoch (19 676 days).
pub const MIDNIGHT: i64 = 1_700_006_400_000;
/// The landing tests' events start at 2023-11-14T23:50:00Z, 100 ms apart: they cross midnight after 6 000.
pub const LAND_START_MS: i64 = MIDNIGHT - 600_000;

/// The `dt=` directory an event time belongs in (the tests' events are all within these two days).
pub fn dt_of(ts: i64) -> &'static str {
    match ts {
        t if (MIDNIGHT - 86_400_000..MIDNIGHT).contains(&t) => "dt=2023-11-14",
        t if (MIDNIGHT..MIDNIGHT + 86_400_000).contains(&t) => "dt=2023-11-15",
        t => panic!("event time {t} outside the test's two days"),
    }
}

/// A record's value as a landed line: without surrounding whitespace, CR/LF replaced by spaces.
pub fn as_landed(value: &[u8]) -> Vec<u8> {
    String::from_utf8(value.to_vec())
        .unwrap()
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .replace(['\r', '\n'], " ")
        .into_bytes()
}

/// The input records that must be landed: every well-formed one (on time or late), as landed lines.
pub fn valid_lines(records: &[Rec], want: &Expected) -> BTreeMap<Vec<u8>, (i32, i64)> {
    let mut lines = BTreeMap::new();
    for r in records {
        let bad = want
            .dead
            .get(&(r.partition, r.offset))
            .is_some_and(|reason| reason != "late");
        if !bad {
            let line = as_landed(r.value.as_deref().unwrap());
            assert!(
                lines.insert(line, (r.partition, r.offset)).is_none(),
                "the test's events must be distinct"
            );
        }
    }
    lines
}

/// What was found under the landing directory.
pub struct Landing {
    /// Landed line -> how many times.
    pub lines: BTreeMap<Vec<u8>, usize>,
    pub files: usize,
    /// Hidden (temporary) files left.
    pub hidden: Vec<String>,
}

/// Reads every file under `dir` and checks each: `dt=<date of each line>/part-p<partition>-o<offset>.jsonl`,
/// holding lines of that partition in offset order, the first at that offset (`origin`: line -> partition,
/// offset of the input record).
pub fn read_landing(url: &str, dir: &str, origin: &BTreeMap<Vec<u8>, (i32, i64)>) -> Landing {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let fs = super::client(url);
        let mut entries = Vec::new();
        for status in fs.list_status(dir, true).await.unwrap() {
            let content = if status.isdir {
                None
            } else {
                Some(super::read_file(&fs, &status.path).await)
            };
            entries.push((status.path, content));
        }
        entries
    });
    let mut landing = Landing {
        lines: BTreeMap::new(),
        files: 0,
        hidden: Vec::new(),
    };
    for (path, content) in entries {
        let relative = path.strip_prefix(&format!("{dir}/")).unwrap();
        let parts: Vec<&str> = relative.split('/').collect();
        match (&parts[..], content) {
            ([day], None) => assert!(day.starts_with("dt=2023-11-1"), "{relative}"),
            ([_, name], Some(_)) if name.starts_with('.') => {
                landing.hidden.push(relative.to_string())
            }
            ([day, name], Some(data)) => {
                landing.files += 1;
                let (p, o) = name
                    .strip_prefix("part-p")
                    .and_then(|n| n.strip_suffix(".jsonl"))
                    .and_then(|n| n.split_once("-o"))
                    .unwrap_or_else(|| panic!("unexpected file {relative}"));
                let (p, o): (i32, i64) = (p.parse().unwrap(), o.parse().unwrap());
                assert!(
                    data.ends_with(b"\n"),
                    "{relative} is empty or has no final newline"
                );
                let mut previous = None;
                for line in data[..data.len() - 1].split(|&b| b == b'\n') {
                    let text = String::from_utf8_lossy(line);
                    let &(partition, offset) = origin
                        .get(line)
                        .unwrap_or_else(|| panic!("{relative}: not a valid input record: {text}"));
                    assert_eq!(partition, p, "{relative}: {text}");
                    match previous {
                        None => assert_eq!(offset, o, "{relative}: the first line's offset"),
                        Some(prev) => assert!(offset > prev, "{relative}: offsets out of order"),
                    }
                    previous = Some(offset);
                    let v: Value = serde_json::from_slice(line).unwrap();
                    assert_eq!(
                        *day,
                        dt_of(v["last_update"].as_i64().unwrap()),
                        "{relative}: {text}"
                    );
                    *landing.lines.entry(line.to_vec()).or_default() += 1;
                }
            }
            _ => panic!("unexpected entry {relative}"),
        }
    }
    landing
}

pub fn delete_hdfs_dir(url: &str, dir: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { super::client(url).delete(dir, true).await.unwrap() });
}
