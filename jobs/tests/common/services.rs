//! Where the native services of `ci/services` and `ci/hdfs` are, for the integration tests.
//!
//! Each function returns the endpoint from the environment that `eval "$(ci/services env)"` /
//! `eval "$(ci/hdfs env)"` set. When the variable is not set, it asks the script itself (`ci/services env`,
//! `ci/hdfs env`, once per test binary), so that tests also run without the `eval` when the service is up;
//! when the service is not up either, it panics with the command that starts it.
use std::collections::HashMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const CI_SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/services");
const CI_HDFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/hdfs");

/// Kafka's bootstrap address, `host:port` (`BIGDATA_KAFKA_BOOTSTRAP`; `ci/services up kafka`).
pub fn kafka_bootstrap() -> String {
    service_endpoint(
        "BIGDATA_KAFKA_BOOTSTRAP",
        "Kafka",
        "ci/services up kafka",
        |v| v.to_string(),
    )
}

/// The schema registry's base URL, Confluent's REST API: `http://host:port/apis/ccompat/v7`
/// (`BIGDATA_SCHEMA_REGISTRY_URL`; `ci/services up registry`, which starts Kafka too).
pub fn schema_registry_url() -> String {
    service_endpoint(
        "BIGDATA_SCHEMA_REGISTRY_URL",
        "the schema registry",
        "ci/services up registry",
        |v| {
            let rest = v.split_once("://").map_or(v, |(_, rest)| rest);
            rest.split('/').next().unwrap_or(rest).to_string()
        },
    )
}

/// The Hive metastore's Thrift URI, `thrift://host:port` (`BIGDATA_METASTORE_URI`; `ci/services up metastore`).
pub fn metastore_uri() -> String {
    service_endpoint(
        "BIGDATA_METASTORE_URI",
        "the Hive metastore",
        "ci/services up metastore",
        |v| v.trim_start_matches("thrift://").to_string(),
    )
}

/// The metastore's MariaDB database and its `hive` user.
#[derive(Clone, Debug)]
pub struct Mysql {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Mysql {
    /// `host:port`
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The metastore's MariaDB (`BIGDATA_MYSQL_*`; `ci/services up mariadb`).
pub fn mysql() -> Mysql {
    let start = "ci/services up mariadb";
    let host = service_var("BIGDATA_MYSQL_HOST", "MariaDB", start);
    let port = service_endpoint("BIGDATA_MYSQL_PORT", "MariaDB", start, |p| {
        format!("{host}:{p}")
    });
    Mysql {
        port: port
            .parse()
            .unwrap_or_else(|_| panic!("BIGDATA_MYSQL_PORT is not a port: {port}")),
        host,
        user: service_var("BIGDATA_MYSQL_USER", "MariaDB", start),
        password: service_var("BIGDATA_MYSQL_PASSWORD", "MariaDB", start),
        database: service_var("BIGDATA_MYSQL_DATABASE", "MariaDB", start),
    }
}

/// Where Spark sessions put new databases (`BIGDATA_WAREHOUSE_DIR`): the running metastore's warehouse.
pub fn warehouse_dir() -> String {
    service_var(
        "BIGDATA_WAREHOUSE_DIR",
        "the Hive metastore",
        "ci/services up metastore",
    )
}

/// The single-NameNode HDFS, `hdfs://host:port` (`BIGDATA_HDFS_URL`; `ci/hdfs up`). When only the HA
/// cluster runs, `ci/hdfs env` gives its nameservice here.
pub fn hdfs_url() -> String {
    hdfs_var("BIGDATA_HDFS_URL", "ci/hdfs up")
}

/// The HA HDFS of `ci/hdfs up --ha`.
#[derive(Clone, Debug)]
pub struct HdfsHa {
    /// `hdfs://<nameservice>` (`BIGDATA_HDFS_HA_URL`)
    pub url: String,
    /// The cluster's control address, `host:port` (`BIGDATA_HDFS_HA_CONTROL`), see `super::control`.
    pub control: String,
}

/// The HA nameservice and its control address (`BIGDATA_HDFS_HA_URL`, `BIGDATA_HDFS_HA_CONTROL`). Its client
/// configuration is [`hadoop_conf_dir`]; `super::client` and `super::jobs_bin` pass it on.
pub fn hdfs_ha() -> HdfsHa {
    HdfsHa {
        url: hdfs_var("BIGDATA_HDFS_HA_URL", "ci/hdfs up --ha"),
        control: hdfs_var("BIGDATA_HDFS_HA_CONTROL", "ci/hdfs up --ha"),
    }
}

/// The Hadoop client configuration (`HADOOP_CONF_DIR`, or the HA cluster's from `ci/hdfs env`); `None` when
/// neither says (a `hdfs://host:port` URL needs none).
pub fn hadoop_conf_dir() -> Option<String> {
    non_empty_env("HADOOP_CONF_DIR").or_else(|| {
        script_env(CI_HDFS)
            .as_ref()
            .ok()
            .and_then(|vars| vars.get("HADOOP_CONF_DIR").cloned())
    })
}

/// `HADOOP_CONF_DIR` from `ci/hdfs env` when the environment has none (for child processes).
pub fn hadoop_conf_dir_if_unset() -> Option<String> {
    if non_empty_env("HADOOP_CONF_DIR").is_some() {
        None
    } else {
        hadoop_conf_dir()
    }
}

// ------------------------------------------------------------------------------------------------ helpers

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// NAME from the environment, else from `ci/hdfs env` (which fails when no cluster runs).
fn hdfs_var(name: &str, start: &str) -> String {
    if let Some(v) = non_empty_env(name) {
        return v;
    }
    match script_env(CI_HDFS) {
        Ok(vars) => vars.get(name).cloned().unwrap_or_else(|| {
            panic!("{name} is not set and `ci/hdfs env` does not give it: run `{start}`, then `eval \"$(ci/hdfs env)\"`")
        }),
        Err(e) => panic!(
            "{name} is not set and {e}: run `{start}`, then `eval \"$(ci/hdfs env)\"`"
        ),
    }
}

/// NAME from the environment, else from `ci/services env` (which prints endpoints even when the services are
/// down: see `service_endpoint`).
fn service_var(name: &str, what: &str, start: &str) -> String {
    if let Some(v) = non_empty_env(name) {
        return v;
    }
    match script_env(CI_SERVICES) {
        Ok(vars) => vars.get(name).filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| {
            panic!("{name} is not set and `ci/services env` does not give it ({what} not set up?): run `{start}`, then `eval \"$(ci/services env)\"`")
        }),
        Err(e) => panic!(
            "{name} is not set and {e}: run `{start}`, then `eval \"$(ci/services env)\"`"
        ),
    }
}

/// Like `service_var`, but when the value comes from `ci/services env` (not from the environment), its
/// `host:port` (`address` of the value) must answer, or the service is not up.
fn service_endpoint(
    name: &str,
    what: &str,
    start: &str,
    address: impl Fn(&str) -> String,
) -> String {
    if let Some(v) = non_empty_env(name) {
        return v;
    }
    let v = service_var(name, what, start);
    let addr = address(&v);
    let answers = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    assert!(
        answers,
        "{name} is not set, and {what} is not up ({addr} does not answer): run `{start}`, then `eval \"$(ci/services env)\"`"
    );
    v
}

/// The variables that `SCRIPT env` exports, read once per test binary. Bash itself undoes their quoting.
fn script_env(script: &'static str) -> &'static Result<HashMap<String, String>, String> {
    static SERVICES: OnceLock<Result<HashMap<String, String>, String>> = OnceLock::new();
    static HDFS: OnceLock<Result<HashMap<String, String>, String>> = OnceLock::new();
    let cell = if script == CI_SERVICES {
        &SERVICES
    } else {
        &HDFS
    };
    cell.get_or_init(|| run_env(script))
}

fn run_env(script: &str) -> Result<HashMap<String, String>, String> {
    const PRINT: &str = r#"out=$("$0" env) || exit 1
eval "$out"
for n in $(sed -n 's/^export \([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' <<<"$out"); do printf '%s=%s\0' "$n" "${!n}"; done"#;
    let name = script.rsplit("/../").next().unwrap_or(script);
    let out = Command::new("bash")
        .args(["-c", PRINT, script])
        .output()
        .map_err(|e| format!("`{name} env` could not run ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "`{name} env` failed ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// Runs SQL statements (separated by `;`) in a local-mode Spark session on the running metastore
/// (`ci/services sql`); returns the rows of the statements that return any, columns separated by tabs.
pub fn spark_sql(statements: &str) -> Vec<String> {
    let out = Command::new(CI_SERVICES)
        .args(["sql", statements])
        .output()
        .expect("run ci/services sql");
    assert!(
        out.status.success(),
        "ci/services sql {statements:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
