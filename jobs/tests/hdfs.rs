//! Tests against the real HDFS of `ci/hdfs up` (no mocks). Run them with:
//!
//!     ci/hdfs up && cargo test -p bigdata-jobs --test hdfs -- --ignored
//!
//! (`common::services` finds the cluster through `ci/hdfs env` when `BIGDATA_HDFS_URL` is not set.)
mod common;

use std::time::{Duration, Instant};

use bigdata_jobs::hdfs::HdfsOptions;
use bigdata_jobs::wordcount::{self, PART_FILE, SUCCESS_FILE};
use common::services::hdfs_url;
use common::*;

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn write_read_delete() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("write-read-delete");
    let path = format!("{dir}/file.bin");
    // 3.5 blocks of 1 MiB: the reader crosses block boundaries and DataNodes.
    let data: Vec<u8> = (0..(3 * MIB + MIB / 2)).map(|i| (i % 251) as u8).collect();
    write_file(&fs, &path, &data, MIB as u64).await;
    let status = fs.get_file_info(&path).await.unwrap();
    assert_eq!(status.length, data.len());
    assert_eq!(status.blocksize, Some(MIB as u64));
    assert_eq!(read_file(&fs, &path).await, data);
    let reader = fs.read(&path).await.unwrap();
    let middle = reader.read_range(MIB - 10, 20).await.unwrap();
    assert_eq!(&middle[..], &data[MIB - 10..MIB + 10]);
    assert!(fs.delete(&dir, true).await.unwrap());
    assert!(!exists(&fs, &path).await);
}

/// Writes the standard input tree; returns the input dir and the texts that count.
async fn standard_input(url: &str, dir: &str) -> (String, Vec<Vec<u8>>) {
    let fs = client(url);
    let input = format!("{dir}/in");
    // Multi-block file (1 MiB blocks) with a word across every block boundary.
    let mut big = text(1, 3 * MIB + 12345);
    for b in 1..=3 {
        word_across(&mut big, b * MIB);
    }
    let small = b"  Hello\tworld\r\nHELLO  w\x0corld hello".to_vec(); // no final newline
    let nested = text(2, 50_000);
    write_file(&fs, &format!("{input}/a.txt"), &big, MIB as u64).await;
    write_file(&fs, &format!("{input}/b.txt"), &small, MIB as u64).await;
    write_file(&fs, &format!("{input}/empty.txt"), b"", MIB as u64).await;
    write_file(&fs, &format!("{input}/sub/c.txt"), &nested, MIB as u64).await;
    // Hidden files (Hadoop's convention) are not input.
    write_file(&fs, &format!("{input}/_SUCCESS"), b"hidden1", MIB as u64).await;
    write_file(&fs, &format!("{input}/.part.crc"), b"hidden2", MIB as u64).await;
    (format!("{url}{input}"), vec![big, small, nested])
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_matches_the_in_memory_count() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount");
    let (input, texts) = standard_input(&url, &dir).await;
    let expected = expected_output(texts.iter().map(|t| &t[..]));

    // By block (default), and by odd-sized ranges that cut words everywhere.
    for (name, extra) in [
        ("by-block", vec![]),
        (
            "odd-ranges",
            vec!["--split-size", "100003", "--parallelism", "3"],
        ),
    ] {
        let output = format!("{url}{dir}/out-{name}");
        let mut args = vec!["--input", &input, "--output", &output];
        args.extend(extra);
        let out = run_wordcount(&args);
        assert!(out.status.success(), "wordcount {name} failed");
        let part = read_file(&fs, &format!("{dir}/out-{name}/{PART_FILE}")).await;
        assert!(
            part == expected,
            "{name}: output differs from the in-memory count ({} vs {} bytes)",
            part.len(),
            expected.len()
        );
        assert!(exists(&fs, &format!("{dir}/out-{name}/{SUCCESS_FILE}")).await);
        // Logs are JSON lines.
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        }
    }
    // Nothing left beside the outputs (no temporary directories).
    let mut left = names(&fs, &dir).await;
    left.sort();
    assert_eq!(left, ["in", "out-by-block", "out-odd-ranges"]);
    fs.delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_tiny_ranges_as_a_library_call() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount-tiny");
    let data = text(3, 700);
    write_file(&fs, &format!("{dir}/in/t.txt"), &data, MIB as u64).await;
    let expected = expected_output([&data[..]]);
    for split in [1u64, 2, 3, 7, 64] {
        let options = wordcount::Options {
            input: format!("{url}{dir}/in"),
            output: format!("{url}{dir}/out-{split}"),
            overwrite: false,
            parallelism: 8,
            split_size: Some(split),
            hdfs: HdfsOptions::default(),
        };
        let summary = wordcount::run(&options, std::future::pending())
            .await
            .unwrap();
        assert_eq!(summary.bytes, data.len() as u64);
        let part = read_file(&fs, &format!("{dir}/out-{split}/{PART_FILE}")).await;
        assert_eq!(
            String::from_utf8_lossy(&part),
            String::from_utf8_lossy(&expected),
            "split {split}"
        );
    }
    fs.delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_refuses_an_existing_output_unless_overwrite() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount-overwrite");
    write_file(&fs, &format!("{dir}/in1/t.txt"), b"one two two", MIB as u64).await;
    write_file(&fs, &format!("{dir}/in2/t.txt"), b"three", MIB as u64).await;
    let output = format!("{url}{dir}/out");
    let in1 = format!("{url}{dir}/in1");
    let in2 = format!("{url}{dir}/in2");
    assert!(
        run_wordcount(&["--input", &in1, "--output", &output])
            .status
            .success()
    );
    let part = format!("{dir}/out/{PART_FILE}");
    assert_eq!(read_file(&fs, &part).await, b"one\t1\ntwo\t2\n");

    let out = run_wordcount(&["--input", &in2, "--output", &output]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert_eq!(
        read_file(&fs, &part).await,
        b"one\t1\ntwo\t2\n",
        "output changed"
    );

    let out = run_wordcount(&["--input", &in2, "--output", &output, "--overwrite"]);
    assert!(out.status.success());
    assert_eq!(read_file(&fs, &part).await, b"three\t1\n");
    let mut left = names(&fs, &dir).await;
    left.sort();
    assert_eq!(
        left,
        ["in1", "in2", "out"],
        "no temporary or old outputs left"
    );
    fs.delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_with_a_missing_input_fails_and_leaves_no_output() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount-missing");
    fs.mkdirs(&dir, 0o755, true).await.unwrap();
    let input = format!("{url}{dir}/nope");
    let output = format!("{url}{dir}/out");
    let out = run_wordcount(&["--input", &input, "--output", &output]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("input {input} does not exist")),
        "{stderr}"
    );
    assert!(names(&fs, &dir).await.is_empty(), "something was written");
    fs.delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_stopped_by_sigterm_leaves_no_output() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount-sigterm");
    let data = text(4, 24 * MIB);
    write_file(&fs, &format!("{dir}/in/big.txt"), &data, 4 * MIB as u64).await;
    // Small ranges, one at a time: the run takes long enough to be stopped in the middle.
    let child = jobs_bin()
        .args([
            "wordcount",
            "--input",
            &format!("{url}{dir}/in"),
            "--output",
        ])
        .arg(format!("{url}{dir}/out"))
        .args(["--split-size", "65536", "--parallelism", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the job is running (its temporary directory exists), then stop it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !names(&fs, &dir)
        .await
        .iter()
        .any(|n| n.starts_with(".out.tmp-"))
    {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert_eq!(names(&fs, &dir).await, ["in"], "partial output left");
    fs.delete(&dir, true).await.unwrap();
}
