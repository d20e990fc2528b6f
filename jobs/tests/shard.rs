//! `wordcount --shards N`: N processes, each with its own `JOB_COMPLETION_INDEX` as in an Indexed Job,
//! against the real HDFS of `ci/hdfs up`. Run them with:
//!
//!     ci/hdfs up && cargo test -p bigdata-jobs --test shard -- --ignored
mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::services::hdfs_url;
use common::*;

const MIB: usize = 1024 * 1024;

/// Files of several sizes with 1 MiB blocks (words across block boundaries); returns the input and texts.
async fn input(url: &str, dir: &str, total_mib: usize) -> (String, Vec<Vec<u8>>) {
    let fs = client(url);
    let mut texts = Vec::new();
    for (i, share) in [5, 3, 1, 1].iter().enumerate() {
        let mut t = text(10 + i as u64, total_mib * MIB * share / 10 + 777 * i);
        for b in 1..(t.len() / MIB) {
            word_across(&mut t, b * MIB);
        }
        write_file(&fs, &format!("{dir}/in/f{i}.txt"), &t, MIB as u64).await;
        texts.push(t);
    }
    (format!("{url}{dir}/in"), texts)
}

fn shard(
    input: &str,
    output: &str,
    index: usize,
    count: usize,
    run_id: &str,
    extra: &[&str],
) -> Command {
    let mut c = jobs_bin();
    c.args([
        "--log-format",
        "text",
        "wordcount",
        "--input",
        input,
        "--output",
        output,
    ])
    .args(["--shards", &count.to_string(), "--run-id", run_id])
    .args(extra)
    .env("JOB_COMPLETION_INDEX", index.to_string());
    c
}

fn wait_ok(mut child: Child, what: &str) {
    let status = child.wait().expect("wait for bigdata-jobs");
    assert!(status.success(), "{what}: {status}");
}

async fn assert_output(url: &str, out_path: &str, run_id: &str, expected: &[u8]) {
    let fs = client(url);
    let got = read_file(&fs, &format!("{out_path}/part-r-00000")).await;
    assert!(
        got == expected,
        "the output of {out_path} differs from the reference"
    );
    assert_eq!(
        read_file(&fs, &format!("{out_path}/_SUCCESS")).await,
        run_id.as_bytes()
    );
    let parent = out_path.rsplit_once('/').unwrap().0;
    let leftovers: Vec<String> = names(&fs, parent)
        .await
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partials or temporary files left: {leftovers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn any_number_of_shards_gives_the_same_output() {
    let url = hdfs_url();
    let dir = unique_dir("shards");
    let (input, texts) = input(&url, &dir, 6).await;
    let expected = expected_output(texts.iter().map(|t| &t[..]));
    for n in [1, 2, 4] {
        let out = format!("{dir}/out-{n}/result");
        let run_id = format!("run-{n}");
        let children: Vec<Child> = (0..n)
            .map(|i| {
                shard(&input, &format!("{url}{out}"), i, n, &run_id, &[])
                    .spawn()
                    .expect("start bigdata-jobs")
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            wait_ok(c, &format!("shard {i} of {n}"));
        }
        assert_output(&url, &out, &run_id, &expected).await;
    }
    client(&url).delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn a_killed_shard_rerun_alone_gives_the_exact_output() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("shards-kill");
    let (input, texts) = input(&url, &dir, 24).await;
    let expected = expected_output(texts.iter().map(|t| &t[..]));
    let out = format!("{dir}/out/result");
    let output = format!("{url}{out}");
    let run_id = "run-kill";

    // Shards 1 and 2 (the merger, which then waits for shard 0's partial).
    let others: Vec<Child> = (1..3)
        .map(|i| shard(&input, &output, i, 3, run_id, &[]).spawn().unwrap())
        .collect();
    // Shard 0, slowed down (one 16 KiB range at a time: ~500 ranges, seconds of work even in a fast run; with
    // 128 KiB ranges it once finished within the 700 ms), killed with SIGKILL mid-run.
    let slow = ["--parallelism", "1", "--split-size", "16384"];
    let mut victim = shard(&input, &output, 0, 3, run_id, &slow).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    victim.kill().unwrap();
    victim.wait().unwrap();
    let partial = format!("{dir}/out/.result.shards-{run_id}/part-00000");
    assert!(
        !exists(&fs, &partial).await,
        "shard 0 finished before it was killed: make its share bigger"
    );
    assert!(
        !exists(&fs, &out).await,
        "no output before every share is counted"
    );

    // Only shard 0 is run again; the merger completes the output.
    wait_ok(
        shard(&input, &output, 0, 3, run_id, &[]).spawn().unwrap(),
        "shard 0, again",
    );
    for (i, c) in others.into_iter().enumerate() {
        wait_ok(c, &format!("shard {}", i + 1));
    }
    assert_output(&url, &out, run_id, &expected).await;

    // A shard retried after the merge finds the output committed by its run and changes nothing.
    let started = Instant::now();
    let again = shard(&input, &output, 2, 3, run_id, &[]).output().unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already committed by this run"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_output(&url, &out, run_id, &expected).await;

    // Bad settings are refused before anything is read.
    let bad = shard(&input, &output, 3, 3, run_id, &[]).output().unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--shard-index 3 is not below --shards 3")
    );
    let mut no_id = jobs_bin();
    no_id
        .args([
            "wordcount",
            "--input",
            &input,
            "--output",
            &output,
            "--shards",
            "2",
        ])
        .env("JOB_COMPLETION_INDEX", "0");
    let no_id = no_id.output().unwrap();
    assert!(String::from_utf8_lossy(&no_id.stderr).contains("--run-id"));
    fs.delete(&dir, true).await.unwrap();
}
