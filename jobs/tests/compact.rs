//! `compact` against the real HDFS (`ci/hdfs up`), the real Hive metastore on MariaDB and Spark SQL
//! (`ci/services up metastore spark`): no mocks. Run them with:
//!
//!     ci/hdfs up && ci/services up metastore spark && cargo test -p bigdata-jobs --test compact -- --ignored
mod common;

use std::process::Output;
use std::time::Duration;

use bigdata_jobs::compact::PART_FILE;
use bigdata_jobs::events::{EventKind, Generator, StationStatus};
use bigdata_jobs::metastore::Metastore;
use common::services::{hdfs_url, metastore_uri, spark_sql};
use common::*;
use serde_json::Value;

/// 2023-11-15T00:00:00Z: the generated events start 5 minutes before, one per second.
const MIDNIGHT_MS: i64 = 1_700_006_400_000;

fn bike_events(seed: u64, n: usize) -> Vec<String> {
    let mut g = Generator::new(EventKind::Bikes, seed, 30, MIDNIGHT_MS - 300_000, 1000);
    (0..n).map(|_| g.next_json()).collect()
}

fn lines(events: &[String]) -> Vec<u8> {
    events
        .iter()
        .flat_map(|e| format!("{e}\n").into_bytes())
        .collect()
}

fn run_compact(args: &[&str]) -> Output {
    let out = jobs_bin()
        .arg("compact")
        .args(args)
        .output()
        .expect("run bigdata-jobs");
    eprintln!(
        "bigdata-jobs compact {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs compact, expects success, returns its JSON summary.
fn compact_ok(args: &[&str]) -> Value {
    let out = run_compact(args);
    assert!(out.status.success(), "compact failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("summary {stdout:?}: {e}"))
}

fn partition_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// What Spark must return for `SELECT number, last_update, available_bikes, name, unix_millis(event_time),
/// dt ... ORDER BY last_update, number`, computed from the generated events.
fn expected_rows(events: &[String]) -> Vec<String> {
    let mut rows: Vec<(i64, u32, String)> = events
        .iter()
        .map(|e| {
            let s: StationStatus = serde_json::from_str(e).unwrap();
            let dt = bigdata_jobs::date::Date::from_epoch_ms(s.last_update);
            let line = format!(
                "{}\t{}\t{}\t{}\t{}\t{dt}",
                s.number, s.last_update, s.available_bikes, s.name, s.last_update
            );
            (s.last_update, s.number, line)
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, _, l)| l).collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs and ci/services (metastore, spark)"]
async fn spark_reads_exactly_the_events_and_a_second_run_changes_nothing() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("compact");
    let landing = format!("{dir}/landing");
    let database = format!("it_compact_{:08x}", rand::random::<u32>());
    let table = format!("{database}.bikes");
    let location = format!("{url}{dir}/warehouse/bikes");

    // 600 events, half on each side of midnight UTC; 50 of them landed twice (a replay after a crash);
    // 3 malformed lines; files under `_` and `.` names that must be ignored.
    let events = bike_events(7, 700);
    let (first, later) = events.split_at(600);
    let mut with_bad = lines(&first[200..300]);
    with_bad.extend_from_slice(b"{not json\n\n{\"number\":1}\n");
    with_bad.extend_from_slice(format!("{}\n", stock_event()).as_bytes());
    let files: [(&str, Vec<u8>); 6] = [
        ("dt=2023-11-14/part-p0-o0.jsonl", lines(&first[..200])),
        ("dt=2023-11-14/part-p1-o0.jsonl", with_bad),
        ("dt=2023-11-15/part-p0-o200.jsonl", lines(&first[300..])),
        ("dt=2023-11-15/part-p0-o250.jsonl", lines(&first[350..400])),
        ("_temporary/part-p0-o900.jsonl", lines(&bike_events(8, 20))),
        (
            "dt=2023-11-15/.part-p0-o999.jsonl.tmp",
            lines(&bike_events(9, 20)),
        ),
    ];
    for (name, data) in &files {
        write_file(&fs, &format!("{landing}/{name}"), data, 1 << 20).await;
    }
    let input = format!("{url}{landing}");
    let metastore = metastore_uri();
    let args = [
        "--input",
        &input,
        "--table",
        &table,
        "--kind",
        "bikes",
        "--location",
        &location,
        "--metastore-uri",
        &metastore,
    ];

    let first_run = compact_ok(&args);
    assert_eq!(first_run["files"], 4);
    assert_eq!(first_run["lines"], 600 + 50 + 3);
    assert_eq!(first_run["malformed"], 3);
    assert_eq!(first_run["duplicates"], 50);
    assert_eq!(first_run["rows"], 600);
    assert_eq!(first_run["table_created"], true);
    assert_eq!(
        partition_list(&first_run["partitions_written"]),
        ["dt=2023-11-14", "dt=2023-11-15"]
    );
    let part = format!("{dir}/warehouse/bikes/dt=2023-11-15/{PART_FILE}");
    let written = fs.get_file_info(&part).await.unwrap();
    assert_eq!(
        common::names(&fs, &format!("{dir}/warehouse/bikes/dt=2023-11-15")).await,
        [PART_FILE],
        "only the data file remains in the partition directory"
    );

    let second_run = compact_ok(&args);
    assert_eq!(
        partition_list(&second_run["partitions_written"]),
        Vec::<&str>::new()
    );
    assert_eq!(
        partition_list(&second_run["partitions_unchanged"]),
        ["dt=2023-11-14", "dt=2023-11-15"]
    );
    assert_eq!(second_run["table_created"], false);
    let again = fs.get_file_info(&part).await.unwrap();
    assert_eq!(
        again.modification_time, written.modification_time,
        "the file was not rewritten"
    );

    let rows = spark_sql(&format!(
        "SELECT number, last_update, available_bikes, name, unix_millis(event_time), dt FROM {table} \
         ORDER BY last_update, number"
    ));
    assert_eq!(
        rows,
        expected_rows(first),
        "Spark SQL returns exactly the events, once each"
    );

    // More events of the second day land: only that partition is rebuilt.
    write_file(
        &fs,
        &format!("{landing}/dt=2023-11-15/part-p0-o600.jsonl"),
        &lines(later),
        1 << 20,
    )
    .await;
    let third_run = compact_ok(&args);
    assert_eq!(
        partition_list(&third_run["partitions_written"]),
        ["dt=2023-11-15"]
    );
    assert_eq!(
        partition_list(&third_run["partitions_unchanged"]),
        ["dt=2023-11-14"]
    );
    let counts = spark_sql(&format!(
        "SELECT dt, count(*), count(DISTINCT number, last_update) FROM {table} GROUP BY dt ORDER BY dt; \
         DROP DATABASE {database} CASCADE"
    ));
    assert_eq!(counts, ["2023-11-14\t300\t300", "2023-11-15\t400\t400"]);
    fs.delete(&dir, true).await.unwrap();
}

/// Runs `compact` as the processes `indexes` of a sharded run of `count`, all at once (as the pods of an
/// Indexed Job start), and returns their summaries in index order.
fn compact_shards(args: &[&str], indexes: &[u32], count: u32) -> Vec<Value> {
    let children: Vec<_> = indexes
        .iter()
        .map(|i| {
            jobs_bin()
                .arg("compact")
                .args(args)
                .args(["--shards", &count.to_string()])
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run bigdata-jobs")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .zip(indexes)
        .map(|(child, i)| {
            let out = child.wait_with_output().unwrap();
            eprintln!(
                "compact shard {i}/{count}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            (out, i)
        })
        .collect();
    outputs
        .into_iter()
        .map(|(out, i)| {
            assert!(out.status.success(), "shard {i} failed");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
            assert_eq!(summary["shard"]["index"], *i);
            summary
        })
        .collect()
}

fn partitions_of(summaries: &[Value], key: &str) -> Vec<String> {
    let mut all: Vec<String> = summaries
        .iter()
        .flat_map(|s| {
            partition_list(&s[key])
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs and ci/services (metastore, spark)"]
async fn three_processes_share_the_dates_and_spark_reads_exactly_the_events() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("compact-shards");
    let landing = format!("{dir}/landing");
    let database = format!("it_compact_shards_{:08x}", rand::random::<u32>());
    let table = format!("{database}.bikes");
    let location = format!("{url}{dir}/warehouse/bikes");

    // 480 events, one every 15 minutes from 2023-11-13: 5 dates of 96. Landed as the stream does, under
    // the dt= directory of each event's date, two files a date, and 40 of them twice (a replay).
    let mut g = Generator::new(
        EventKind::Bikes,
        11,
        30,
        MIDNIGHT_MS - 2 * 86_400_000,
        900_000,
    );
    let events: Vec<String> = (0..480).map(|_| g.next_json()).collect();
    let date_of = |e: &String| {
        let s: StationStatus = serde_json::from_str(e).unwrap();
        bigdata_jobs::date::Date::from_epoch_ms(s.last_update)
    };
    let dates: std::collections::BTreeSet<_> = events.iter().map(date_of).collect();
    assert_eq!(dates.len(), 5);
    for (day, date) in dates.iter().enumerate() {
        let of_date: Vec<String> = events
            .iter()
            .filter(|e| date_of(e) == *date)
            .cloned()
            .collect();
        let (a, b) = of_date.split_at(of_date.len() / 2);
        let mut b = b.to_vec();
        b.extend_from_slice(&a[..8]);
        for (file, rows) in [
            (format!("part-p0-o{day}00"), a.to_vec()),
            (format!("part-p1-o{day}00"), b),
        ] {
            write_file(
                &fs,
                &format!("{landing}/{}/{file}.jsonl", date.dir_name()),
                &lines(&rows),
                1 << 20,
            )
            .await;
        }
    }
    let all_dates: Vec<String> = dates.iter().map(|d| d.dir_name()).collect();
    let input = format!("{url}{landing}");
    let metastore = metastore_uri();
    let args = [
        "--input",
        &input,
        "--table",
        &table,
        "--kind",
        "bikes",
        "--location",
        &location,
        "--metastore-uri",
        &metastore,
    ];

    // Indexes 0 and 2 start together (both find no table: one creates it, the other uses it); index 1
    // comes later, as a pod retried after a failure does. Every date is written by exactly one process.
    let first = compact_shards(&args, &[0, 2], 3);
    assert_eq!(
        first.iter().filter(|s| s["table_created"] == true).count(),
        1,
        "one process created the table"
    );
    let late = compact_shards(&args, &[1], 3);
    let runs = [first, late].concat();
    assert_eq!(partitions_of(&runs, "partitions_written"), all_dates);
    assert_eq!(
        runs.iter()
            .map(|s| s["files"].as_u64().unwrap())
            .sum::<u64>(),
        10
    );
    for s in &runs {
        let written = s["partitions_written"].as_array().unwrap().len() as u64;
        assert_eq!(
            s["files"],
            2 * written,
            "a process reads only its dates' files"
        );
        assert_eq!(s["files_of_other_shards"], 10 - 2 * written);
    }
    assert_eq!(
        runs.iter()
            .map(|s| s["duplicates"].as_u64().unwrap())
            .sum::<u64>(),
        40
    );

    // All three again: nothing changes.
    let again = compact_shards(&args, &[0, 1, 2], 3);
    assert_eq!(
        partitions_of(&again, "partitions_written"),
        Vec::<String>::new()
    );
    assert_eq!(partitions_of(&again, "partitions_unchanged"), all_dates);

    // An event under another date's directory stops the process that owns that directory.
    let first_date = dates.iter().next().unwrap();
    let misplaced = format!("{landing}/{}/part-p2-o0.jsonl", first_date.dir_name());
    write_file(&fs, &misplaced, &lines(&events[200..201]), 1 << 20).await;
    let owner = first_date.days().rem_euclid(3).to_string();
    let out = jobs_bin()
        .arg("compact")
        .args(args)
        .args(["--shards", "3", "--shard-index", &owner])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs every event under the dt= directory of its own date"),
        "{stderr}"
    );
    fs.delete(&misplaced, false).await.unwrap();

    let rows = spark_sql(&format!(
        "SELECT number, last_update, available_bikes, name, unix_millis(event_time), dt FROM {table} \
         ORDER BY last_update, number; DROP DATABASE {database} CASCADE"
    ));
    assert_eq!(
        rows,
        expected_rows(&events),
        "Spark SQL returns exactly the events, once each"
    );
    fs.delete(&dir, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ci/hdfs and ci/services (metastore)"]
async fn bad_input_fails_clearly_and_creates_nothing() {
    let url = hdfs_url();
    let fs = client(&url);
    let dir = unique_dir("compact-bad");
    let metastore = metastore_uri();
    let database = format!("it_compact_bad_{:08x}", rand::random::<u32>());
    let table = format!("{database}.bikes");
    let location = format!("{url}{dir}/warehouse/bikes");
    let missing = format!("{url}{dir}/no-such-landing");
    let common = [
        "--kind",
        "bikes",
        "--metastore-uri",
        &metastore,
        "--location",
        &location,
    ];

    let out = run_compact(&[&["--input", &missing, "--table", &table], &common[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("input {missing} does not exist")),
        "{stderr}"
    );
    let mut ms = Metastore::connect(&metastore, Duration::from_secs(30)).unwrap();
    assert_eq!(
        ms.database_location(&database).unwrap(),
        None,
        "nothing was created"
    );

    let out = run_compact(&[&["--input", &missing, "--table", "no_dot"], &common[..]].concat());
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad table name is a usage error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expected DATABASE.TABLE"), "{stderr}");

    // A table that exists with another schema is not written to.
    let landing = format!("{dir}/landing");
    write_file(
        &fs,
        &format!("{landing}/a.jsonl"),
        &lines(&bike_events(1, 10)),
        1 << 20,
    )
    .await;
    let input = format!("{url}{landing}");
    compact_ok(&[&["--input", &input, "--table", &table], &common[..]].concat());
    let stocks = ["--kind", "stocks", "--metastore-uri", &metastore];
    let out = run_compact(&[&["--input", &input, "--table", &table], &stocks[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exists with other columns"), "{stderr}");

    let out = run_compact(&[
        "--input",
        &input,
        "--table",
        &table,
        "--kind",
        "bikes",
        "--metastore-uri",
        "thrift://127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to reach the Hive metastore at thrift://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    ms.drop_database(&database, true).unwrap();
    fs.delete(&dir, true).await.unwrap();
}

fn stock_event() -> String {
    Generator::new(EventKind::Stocks, 1, 1, MIDNIGHT_MS, 1).next_json()
}
