//! Helpers of the tests that use the real HDFS started by `ci/hdfs up` (and `ci/hdfs up --ha`); where the
//! services are: [`services`]; Kafka and `stream`: [`kafka`]; `stream --land-dir`: [`landing`].
#![allow(dead_code)]

pub mod kafka;
pub mod landing;
pub mod services;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sends a command to the cluster's control port (`status`, `failover`, `crash`); returns the reply.
pub fn control(addr: &str, command: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("control port {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(180))).unwrap();
    writeln!(s, "{command}").unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    let line = line.trim().to_string();
    assert!(line.starts_with("ok"), "control {command}: {line}");
    line
}

/// An HDFS client; a nameservice is resolved with [`services::hadoop_conf_dir`].
pub fn client(url: &str) -> Client {
    let mut builder = ClientBuilder::new().with_url(url);
    if let Some(dir) = services::hadoop_conf_dir() {
        builder = builder.with_config_dir(dir);
    }
    builder.build().expect("HDFS client")
}

/// A fresh directory path for one test.
pub fn unique_dir(test: &str) -> String {
    format!("/bigdata-tests/{test}-{:08x}", rand::random::<u32>())
}

/// Writes `data` to `path`. A NameNode that has not yet seen the previous block's replicas answers
/// `NotReplicatedYetException` (the Java client retries then too; a busy machine makes it likely):
/// the whole file is then written again, a few times, before the test fails.
pub async fn write_file(client: &Client, path: &str, data: &[u8], block_size: u64) {
    let mut attempt = 1;
    loop {
        match try_write_file(client, path, data, block_size).await {
            Ok(()) => return,
            Err(e) if attempt < 5 && e.to_string().contains("NotReplicatedYet") => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(400 * attempt)).await;
            }
            Err(e) => panic!("write {path}: {e:?}"),
        }
    }
}

async fn try_write_file(
    client: &Client,
    path: &str,
    data: &[u8],
    block_size: u64,
) -> Result<(), hdfs_native::HdfsError> {
    let options = WriteOptions::default()
        .block_size(block_size)
        .create_parent(true)
        .overwrite(true);
    let mut w = client.create(path, options).await?;
    for chunk in data.chunks(256 * 1024) {
        w.write_bytes(Bytes::copy_from_slice(chunk)).await?;
    }
    w.close().await
}

pub async fn read_file(client: &Client, path: &str) -> Vec<u8> {
    let r = client.read(path).await.expect("open for reading");
    r.read_range(0, r.file_length())
        .await
        .expect("read")
        .to_vec()
}

pub async fn exists(client: &Client, path: &str) -> bool {
    match client.get_file_info(path).await {
        Ok(_) => true,
        Err(HdfsError::FileNotFound(_)) => false,
        Err(e) => panic!("get_file_info {path}: {e}"),
    }
}

/// Names in a directory (empty if it does not exist).
pub async fn names(client: &Client, dir: &str) -> Vec<String> {
    match client.list_status(dir, false).await {
        Ok(list) => list
            .into_iter()
            .map(|s| s.path.rsplit('/').next().unwrap().to_string())
            .collect(),
        Err(HdfsError::FileNotFound(_)) => vec![],
        Err(e) => panic!("list {dir}: {e}"),
    }
}

/// Deterministic text: words of a mixed-case, partly non-ASCII vocabulary, separated by every kind of
/// ASCII whitespace, with some long words.
pub fn text(seed: u64, bytes: usize) -> Vec<u8> {
    const WORDS: [&str; 24] = [
        "the",
        "The",
        "THE",
        "hadoop",
        "HDFS",
        "spark",
        "Kafka",
        "été",
        "Été",
        "naïve",
        "straße",
        "ΟΔΟΣ",
        "δρόμος",
        "数据",
        "a",
        "I",
        "x1",
        "foo-bar",
        "it's",
        "end.",
        "(paren)",
        "\u{a0}nbsp",
        "tab\x0bvt",
        "zzz",
    ];
    const SPACES: [&str; 8] = [" ", " ", " ", "\n", "\t", "\r\n", "  ", "\x0c"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::with_capacity(bytes + 64);
    while out.len() < bytes {
        if rng.random_ratio(1, 200) {
            let n = rng.random_range(20..3000);
            out.extend(std::iter::repeat_n('L', n));
        } else {
            out.push_str(WORDS[rng.random_range(0..WORDS.len())]);
        }
        out.push_str(SPACES[rng.random_range(0..SPACES.len())]);
    }
    out.into_bytes()
}

/// Makes sure a word crosses `offset`: ASCII whitespace at offset-1 and offset becomes 'x'.
pub fn word_across(text: &mut [u8], offset: usize) {
    for i in [offset - 1, offset] {
        if text[i].is_ascii_whitespace() {
            text[i] = b'x';
        }
    }
}

/// The reference count, computed independently: whole text as UTF-8 (lossy), split on ASCII
/// whitespace, lowercased; the expected output bytes.
pub fn expected_output<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for t in texts {
        for w in String::from_utf8_lossy(t).split_ascii_whitespace() {
            *counts.entry(w.to_lowercase()).or_default() += 1;
        }
    }
    let mut out = String::new();
    for (w, n) in counts {
        out.push_str(&format!("{w}\t{n}\n"));
    }
    out.into_bytes()
}

/// The built `bigdata-jobs` binary.
pub fn jobs_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bigdata-jobs"));
    c.env("RUST_LOG", "info");
    if let Some(dir) = services::hadoop_conf_dir_if_unset() {
        c.env("HADOOP_CONF_DIR", dir);
    }
    c
}

pub fn run_wordcount(args: &[&str]) -> Output {
    let out = jobs_bin()
        .arg("wordcount")
        .args(args)
        .output()
        .expect("run bigdata-jobs");
    eprintln!(
        "bigdata-jobs wordcount {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
