//! `bigdata-jobs verify` against the real services: Kafka, MariaDB, the Hive metastore and the schema
//! registry of `ci/services up`, HDFS of `ci/hdfs up`, and (when `BIGDATA_SPARK_HISTORY_URL` is set) a Spark
//! history server. Plus failures: closed ports, a port that speaks another protocol, nothing to verify.
//!
//!     ci/services up kafka mariadb metastore registry && ci/hdfs up
//!     eval "$(ci/services env)" && eval "$(ci/hdfs env)"
//!     cargo test -p bigdata-jobs --test verify -- --ignored
use std::net::TcpListener;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bigdata-jobs");
const VARS: [&str; 8] = [
    "BIGDATA_KAFKA_BOOTSTRAP",
    "BIGDATA_HDFS_URL",
    "BIGDATA_MYSQL_ADDRESS",
    "BIGDATA_MYSQL_HOST",
    "BIGDATA_MYSQL_PORT",
    "BIGDATA_METASTORE_URI",
    "BIGDATA_SPARK_HISTORY_URL",
    "BIGDATA_SCHEMA_REGISTRY_URL",
];

fn need(name: &str, how: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {how}"))
}

/// Runs verify with exactly these BIGDATA_* variables.
fn verify(env: &[(&str, String)]) -> (Output, Value) {
    let mut cmd = Command::new(BIN);
    cmd.args(["verify", "--report", "json", "--timeout", "20s"]);
    for v in VARS {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    // The report is the last stdout line, in the plugin's format.
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let report: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("last line {last:?}: {e}"));
    for c in report["checks"].as_array().unwrap() {
        assert!(c["component"].is_string() && c["check"].is_string(), "{c}");
        assert!(
            c["ok"].is_boolean() && c["millis"].is_u64() && c["detail"].is_string(),
            "{c}"
        );
    }
    (out, report)
}

fn check<'a>(report: &'a Value, component: &str, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == component && c["check"] == name)
        .unwrap_or_else(|| panic!("no check {component}/{name} in {report}"))
}

fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
#[ignore = "needs ci/services"]
fn every_component_passes() {
    let services = "start them with `ci/services up kafka mariadb metastore registry`, then `eval \"$(ci/services env)\"`";
    let mut env = vec![
        (
            "BIGDATA_KAFKA_BOOTSTRAP",
            need("BIGDATA_KAFKA_BOOTSTRAP", services),
        ),
        (
            "BIGDATA_MYSQL_ADDRESS",
            format!(
                "{}:{}",
                need("BIGDATA_MYSQL_HOST", services),
                need("BIGDATA_MYSQL_PORT", services)
            ),
        ),
        (
            "BIGDATA_METASTORE_URI",
            need("BIGDATA_METASTORE_URI", services),
        ),
        (
            "BIGDATA_SCHEMA_REGISTRY_URL",
            need("BIGDATA_SCHEMA_REGISTRY_URL", services),
        ),
        (
            "BIGDATA_HDFS_URL",
            need(
                "BIGDATA_HDFS_URL",
                "start HDFS with `ci/hdfs up`, then `eval \"$(ci/hdfs env)\"`",
            ),
        ),
    ];
    let spark = std::env::var("BIGDATA_SPARK_HISTORY_URL").ok();
    if let Some(url) = &spark {
        env.push(("BIGDATA_SPARK_HISTORY_URL", url.clone()));
    }
    let (out, report) = verify(&env);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let n = report["checks"].as_array().unwrap().len();
    assert_eq!(n, 9 + usize::from(spark.is_some()), "{report}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );
    let mysql = check(&report, "mysql", "server greeting");
    assert!(
        mysql["detail"].as_str().unwrap().contains("MariaDB"),
        "{mysql}"
    );
    let ms = check(&report, "hive-metastore", "create and drop a database");
    assert!(
        ms["detail"]
            .as_str()
            .unwrap()
            .contains("created, listed and dropped database bigdata_verify_"),
        "{ms}"
    );
    check(&report, "kafka", "produce and consume");
    let registry = check(&report, "kafka", "schema registry answers");
    assert!(
        registry["detail"]
            .as_str()
            .unwrap()
            .contains(" subjects at http://"),
        "{registry}"
    );
    check(&report, "hdfs", "read file");
    if spark.is_some() {
        let s = check(&report, "spark", "history server version");
        assert!(s["detail"].as_str().unwrap().starts_with("Spark "), "{s}");
    }
}

#[test]
#[ignore = "needs ci/services"]
fn failures_are_reported_and_the_report_stays_last() {
    let kafka = need(
        "BIGDATA_KAFKA_BOOTSTRAP",
        "start Kafka with `ci/services up kafka`, then `eval \"$(ci/services env)\"`",
    );
    let (out, report) = verify(&[
        ("BIGDATA_MYSQL_ADDRESS", closed_port()),
        // Kafka's port does not speak Thrift.
        ("BIGDATA_METASTORE_URI", format!("thrift://{kafka}")),
        (
            "BIGDATA_SPARK_HISTORY_URL",
            format!("http://{}", closed_port()),
        ),
        ("BIGDATA_HDFS_URL", format!("hdfs://{}", closed_port())),
        (
            "BIGDATA_SCHEMA_REGISTRY_URL",
            format!("http://{}/apis/ccompat/v7", closed_port()),
        ),
    ]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 5, "{report}");
    assert!(checks.iter().all(|c| c["ok"] == false), "{report}");
    let mysql = check(&report, "mysql", "server greeting");
    assert!(
        mysql["detail"].as_str().unwrap().contains("cannot connect"),
        "{mysql}"
    );
    let ms = check(&report, "hive-metastore", "create and drop a database");
    assert!(
        ms["detail"]
            .as_str()
            .unwrap()
            .contains("not a Thrift reply")
            || ms["detail"]
                .as_str()
                .unwrap()
                .contains("closed the connection"),
        "{ms}"
    );
    let registry = check(&report, "kafka", "schema registry answers");
    assert!(
        registry["detail"]
            .as_str()
            .unwrap()
            .contains("failed to list the subjects at http://"),
        "{registry}"
    );
    let hdfs = check(&report, "hdfs", "write file");
    assert!(
        hdfs["detail"]
            .as_str()
            .unwrap()
            .contains("cannot reach HDFS"),
        "{hdfs}"
    );
}

#[test]
fn nothing_to_verify_fails_with_an_empty_report() {
    let (out, report) = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["checks"].as_array().unwrap().len(), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to verify"));
}
