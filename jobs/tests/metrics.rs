//! The batch jobs' metrics (`--metrics-addr`) against the real services, as library calls with a registry:
//! `wordcount` on the HDFS of `ci/hdfs up`, `generate` on the Kafka of `ci/services up kafka`.
//!
//!     cargo test -p bigdata-jobs --test metrics -- --ignored
mod common;

use bigdata_jobs::events::{EventKind, Generator};
use bigdata_jobs::hdfs::HdfsOptions;
use bigdata_jobs::kafka::StopFlag;
use bigdata_jobs::metrics::Registry;
use bigdata_jobs::{generate, wordcount};
use common::services::{hdfs_url, kafka_bootstrap};
use common::*;

/// The value of an unlabelled series in the exposition text.
fn value(text: &str, name: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs"]
async fn wordcount_counts_bytes_ranges_and_words() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("wordcount-metrics");
    let data = text(5, 300_000);
    write_file(&fs, &format!("{dir}/in/t.txt"), &data, 1024 * 1024).await;
    let options = wordcount::Options {
        input: format!("{url}{dir}/in"),
        output: format!("{url}{dir}/out"),
        overwrite: false,
        parallelism: 3,
        split_size: Some(65_536),
        hdfs: HdfsOptions::default(),
    };
    let registry = Registry::default();
    let metrics = wordcount::Metrics::new(&registry);
    let summary = wordcount::run_with_metrics(&options, &metrics, std::future::pending())
        .await
        .unwrap();
    let text = registry.render();
    let words = String::from_utf8_lossy(&data)
        .split_ascii_whitespace()
        .count() as i64;
    assert_eq!(summary.words as i64, words);
    assert_eq!(value(&text, "bigdata_wordcount_words_total"), words);
    assert_eq!(
        value(&text, "bigdata_wordcount_bytes_read_total"),
        data.len() as i64
    );
    assert_eq!(
        value(&text, "bigdata_wordcount_input_bytes"),
        data.len() as i64
    );
    let ranges = data.len().div_ceil(65_536) as i64;
    assert_eq!(value(&text, "bigdata_wordcount_ranges"), ranges);
    assert_eq!(value(&text, "bigdata_wordcount_ranges_done_total"), ranges);
    fs.delete(&dir, true).await.unwrap();
}

#[test]
#[ignore = "needs ci/services"]
fn generate_counts_acknowledged_events() {
    let topic = format!("metrics-{:08x}", rand::random::<u32>());
    let registry = Registry::default();
    let metrics = generate::Metrics::new(&registry);
    let mut generator = Generator::new(EventKind::Stocks, 3, 10, 0, 100);
    let target = generate::KafkaTarget {
        bootstrap: kafka_bootstrap(),
        topic,
        rate: 0,
        partitions: Some(2),
    };
    let summary = generate::produce(
        &mut generator,
        5_000,
        &target,
        &StopFlag::default(),
        &metrics,
    )
    .unwrap();
    assert_eq!(summary.produced, 5_000);
    let text = registry.render();
    assert_eq!(
        value(&text, "bigdata_generate_events_produced_total"),
        5_000
    );
    assert_eq!(value(&text, "bigdata_generate_events_failed_total"), 0);
}
