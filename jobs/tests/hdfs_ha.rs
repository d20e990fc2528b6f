//! Tests against the real HA HDFS of `ci/hdfs up --ha` (a nameservice with two NameNodes), with NameNode
//! failovers triggered through its control port. Run them with:
//!
//!     ci/hdfs up --ha && cargo test -p bigdata-jobs --test hdfs_ha -- --ignored
//!
//! (`common::services` finds the cluster through `ci/hdfs env` when `BIGDATA_HDFS_HA_URL` is not set.)
mod common;

use std::time::Duration;

use bigdata_jobs::wordcount::PART_FILE;
use bytes::Bytes;
use common::services::{HdfsHa, hdfs_ha};
use common::*;
use hdfs_native::WriteOptions;

const MIB: usize = 1024 * 1024;

/// The tests share one HA cluster and each fails it over on purpose: a failover one test triggers
/// must not land in the middle of another test's setup, so they take turns.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn ha_write_read_delete_across_failovers() {
    let _turn = CLUSTER.lock().await;
    let HdfsHa { url, control: ctl } = hdfs_ha();
    let fs = client(&url);
    let dir = unique_dir("ha-write-read-delete");
    let data: Vec<u8> = (0..(2 * MIB + 777)).map(|i| (i % 253) as u8).collect();

    // Written, then a graceful failover, then read back.
    write_file(&fs, &format!("{dir}/before.bin"), &data, MIB as u64).await;
    control(&ctl, "failover");
    assert_eq!(read_file(&fs, &format!("{dir}/before.bin")).await, data);

    // A failover in the middle of a write (between blocks), then the write goes on.
    let options = WriteOptions::default()
        .block_size(MIB as u64)
        .create_parent(true);
    let mut w = fs
        .create(&format!("{dir}/during.bin"), options)
        .await
        .unwrap();
    w.write_bytes(Bytes::copy_from_slice(&data[..MIB + 100]))
        .await
        .unwrap();
    control(&ctl, "failover");
    w.write_bytes(Bytes::copy_from_slice(&data[MIB + 100..]))
        .await
        .unwrap();
    w.close().await.unwrap();
    assert_eq!(read_file(&fs, &format!("{dir}/during.bin")).await, data);

    // The active NameNode's process stops (no graceful hand-over); delete through the other one.
    control(&ctl, "crash");
    assert_eq!(read_file(&fs, &format!("{dir}/during.bin")).await, data);
    assert!(fs.delete(&dir, true).await.unwrap());
    control(&ctl, "failover");
    assert!(!exists(&fs, &format!("{dir}/before.bin")).await);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn ha_wordcount_survives_failovers_during_the_run() {
    let _turn = CLUSTER.lock().await;
    let HdfsHa { url, control: ctl } = hdfs_ha();
    let fs = client(&url);
    let dir = unique_dir("ha-wordcount");
    let mut data = text(7, 8 * MIB);
    for b in 1..8 {
        word_across(&mut data, b * MIB);
    }
    write_file(&fs, &format!("{dir}/in/big.txt"), &data, MIB as u64).await;
    let expected = expected_output([&data[..]]);

    // Before the run: a failover; the job finds the active NameNode itself.
    control(&ctl, "failover");
    // Small ranges, few at a time: many NameNode requests while NameNodes fail over.
    let mut child = jobs_bin()
        .args([
            "wordcount",
            "--input",
            &format!("{url}{dir}/in"),
            "--output",
        ])
        .arg(format!("{url}{dir}/out"))
        .args(["--split-size", "262144", "--parallelism", "2"])
        .spawn()
        .unwrap();
    let mut failovers = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        control(
            &ctl,
            if failovers % 3 == 2 {
                "crash"
            } else {
                "failover"
            },
        );
        failovers += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    eprintln!("{failovers} failovers during the run");
    assert!(status.success(), "wordcount failed across failovers");
    assert!(failovers >= 1, "the run ended before any failover");
    let part = read_file(&fs, &format!("{dir}/out/{PART_FILE}")).await;
    assert!(part == expected, "output differs from the in-memory count");
    let mut left = names(&fs, &dir).await;
    left.sort();
    assert_eq!(left, ["in", "out"]);
    fs.delete(&dir, true).await.unwrap();
}
