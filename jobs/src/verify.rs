//! `bigdata-jobs verify`: real probes of each component whose endpoint is set in the environment.
//!
//! | env | component | checks |
//! | --- | --- | --- |
//! | `BIGDATA_KAFKA_BOOTSTRAP` | kafka | create a temporary topic; produce one message and consume it back; delete the topic |
//! | `BIGDATA_HDFS_URL` | hdfs | write a small file, read it back, delete it (hdfs-native) |
//! | `BIGDATA_MYSQL_ADDRESS` (or `BIGDATA_MYSQL_HOST` + `BIGDATA_MYSQL_PORT`) | mysql | the server greeting packet: protocol and version |
//! | `BIGDATA_METASTORE_URI` | hive-metastore | over Thrift: create a temporary database, see it listed, drop it |
//! | `BIGDATA_SPARK_HISTORY_URL` | spark | `GET /api/v1/version` of the history server |
//!
//! The report (`{"checks":[{"component","check","ok","millis","detail"}]}`) is what `helm bigdata verify`
//! reads from the last line of the pod's log (plugin/src/verify.rs).

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::hdfs::{self, HdfsLocation, HdfsOptions};
use crate::kafka;
use crate::metastore::Metastore;
use crate::registry::SchemaRegistry;

/// `verify` found a failed check (or nothing to check); already reported.
#[derive(Debug, Clone, Copy)]
pub struct ChecksFailed;

impl std::fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("verification failed")
    }
}

impl std::error::Error for ChecksFailed {}

/// One probe's result (the plugin's `CheckResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub component: String,
    pub check: String,
    pub ok: bool,
    pub millis: u64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// One human line per check.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| {
                format!(
                    "{:<4} {:<15} {:<22} {:>6} ms  {}",
                    if c.ok { "ok" } else { "FAIL" },
                    c.component,
                    c.check,
                    c.millis,
                    c.detail
                )
            })
            .collect()
    }
}

/// The endpoints to probe (each `None` is skipped).
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub kafka_bootstrap: Option<String>,
    pub hdfs_url: Option<String>,
    pub mysql_address: Option<String>,
    pub metastore_uri: Option<String>,
    pub spark_history_url: Option<String>,
    /// Confluent's Schema Registry API of the kafka chart's registry (`.../apis/ccompat/v7`).
    pub schema_registry_url: Option<String>,
}

impl Targets {
    /// From the `BIGDATA_*` environment variables (empty values count as unset).
    pub fn from_env() -> Targets {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mysql_address = var("BIGDATA_MYSQL_ADDRESS").or_else(|| {
            Some(format!(
                "{}:{}",
                var("BIGDATA_MYSQL_HOST")?,
                var("BIGDATA_MYSQL_PORT")?
            ))
        });
        Targets {
            kafka_bootstrap: var("BIGDATA_KAFKA_BOOTSTRAP"),
            hdfs_url: var("BIGDATA_HDFS_URL"),
            mysql_address,
            metastore_uri: var("BIGDATA_METASTORE_URI"),
            spark_history_url: var("BIGDATA_SPARK_HISTORY_URL"),
            schema_registry_url: var("BIGDATA_SCHEMA_REGISTRY_URL"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kafka_bootstrap.is_none()
            && self.hdfs_url.is_none()
            && self.mysql_address.is_none()
            && self.metastore_uri.is_none()
            && self.spark_history_url.is_none()
            && self.schema_registry_url.is_none()
    }
}

/// Collects checks, each timed and bounded by the timeout.
struct Checks {
    checks: Vec<Check>,
    timeout: Duration,
}

impl Checks {
    async fn run<T, F>(&mut self, component: &str, check: &str, probe: F) -> Option<T>
    where
        F: Future<Output = anyhow::Result<(T, String)>>,
    {
        let start = Instant::now();
        let result = match tokio::time::timeout(self.timeout, probe).await {
            Ok(r) => r,
            Err(_) => Err(anyhow!("no answer within {}s", self.timeout.as_secs_f64())),
        };
        let millis = start.elapsed().as_millis() as u64;
        let (value, ok, detail) = match result {
            Ok((v, detail)) => (Some(v), true, detail),
            Err(e) => (None, false, format!("{e:#}")),
        };
        tracing::info!(component, check, ok, millis, detail, "verify: check");
        self.checks.push(Check {
            component: component.into(),
            check: check.into(),
            ok,
            millis,
            detail,
        });
        value
    }
}

/// Runs every probe whose target is set, one component after the other.
pub async fn run(targets: &Targets, timeout: Duration) -> Report {
    let mut c = Checks {
        checks: Vec::new(),
        timeout,
    };
    let suffix = format!("{:016x}", rand::random::<u64>());
    if let Some(bootstrap) = &targets.kafka_bootstrap {
        let topic = format!("bigdata-verify-{suffix}");
        if c.run("kafka", "create topic", async {
            kafka::ensure_topic(bootstrap, &topic, 1, timeout).await?;
            Ok(((), format!("{topic} on {bootstrap}")))
        })
        .await
        .is_some()
        {
            c.run(
                "kafka",
                "produce and consume",
                kafka_roundtrip(bootstrap, &topic, &suffix),
            )
            .await;
            c.run("kafka", "delete topic", async {
                kafka::delete_topic(bootstrap, &topic, timeout).await?;
                Ok(((), topic.clone()))
            })
            .await;
        }
    }
    if let Some(url) = &targets.hdfs_url {
        hdfs_checks(&mut c, url, &suffix).await;
    }
    if let Some(address) = &targets.mysql_address {
        let address = address.clone();
        c.run(
            "mysql",
            "server greeting",
            blocking(move || {
                let g = mysql_greeting(&address, timeout)?;
                Ok((
                    (),
                    format!(
                        "{} (protocol {}) at {address}",
                        g.server_version, g.protocol
                    ),
                ))
            }),
        )
        .await;
    }
    if let Some(uri) = &targets.metastore_uri {
        let uri = uri.clone();
        c.run(
            "hive-metastore",
            "create and drop a database",
            blocking(move || {
                if !uri.starts_with("thrift://") {
                    bail!("'{uri}': expected thrift://host:port");
                }
                let detail = metastore_round_trip(&uri, timeout)?;
                Ok(((), detail))
            }),
        )
        .await;
    }
    if let Some(url) = &targets.spark_history_url {
        let url = url.clone();
        c.run(
            "spark",
            "history server version",
            blocking(move || {
                let version = spark_history_version(&url, timeout)?;
                Ok(((), format!("Spark {version} at {url}")))
            }),
        )
        .await;
    }
    if let Some(url) = &targets.schema_registry_url {
        let url = url.clone();
        c.run(
            "kafka",
            "schema registry answers",
            blocking(move || {
                let subjects = SchemaRegistry::new(&url, timeout)?.subjects()?;
                Ok(((), format!("{} subjects at {url}", subjects.len())))
            }),
        )
        .await;
    }
    Report { checks: c.checks }
}

/// Runs blocking socket code on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| anyhow!("the probe panicked: {e}"))?
}

async fn kafka_roundtrip(
    bootstrap: &str,
    topic: &str,
    token: &str,
) -> anyhow::Result<((), String)> {
    let producer: FutureProducer = kafka::config(bootstrap, "bigdata-verify")
        .set("enable.idempotence", "true")
        .create()
        .context("failed to create the producer")?;
    let payload = format!("bigdata verify {token}");
    let (partition, offset) = producer
        .send(
            FutureRecord::to(topic).key("verify").payload(&payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| anyhow!("produce to {topic}: {e}"))
        .map(|d| (d.partition, d.offset))?;
    let consumer: StreamConsumer = kafka::config(bootstrap, "bigdata-verify")
        .set("group.id", format!("bigdata-verify-{token}"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .context("failed to create the consumer")?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let m = consumer
        .recv()
        .await
        .with_context(|| format!("consume from {topic}"))?;
    let got = m.payload().map(|p| String::from_utf8_lossy(p).into_owned());
    if got.as_deref() != Some(payload.as_str()) {
        bail!(
            "read back {got:?} at {partition}/{}, expected {payload:?}",
            m.offset()
        );
    }
    Ok((
        (),
        format!("1 message through {topic} (partition {partition}, offset {offset})"),
    ))
}

async fn hdfs_checks(c: &mut Checks, url: &str, token: &str) {
    let base = url.trim_end_matches('/');
    let location = format!("{base}/tmp/.bigdata-verify-{token}");
    let data = Bytes::from(format!("bigdata verify {token}\n").repeat(100));
    // Shorter than the check's limit, so that an unreachable NameNode is named in the error.
    let options = HdfsOptions {
        conf: Vec::new(),
        connect_timeout: Some(c.timeout.mul_f64(0.8)),
    };
    let client = c
        .run("hdfs", "write file", async {
            let loc = HdfsLocation::parse(&location)?;
            let client = hdfs::client(&loc, &options)?;
            let write = async {
                let opts = hdfs_native::WriteOptions::default().create_parent(true);
                let mut w = client.create(&loc.path, opts).await?;
                w.write_bytes(data.clone()).await?;
                w.close().await
            };
            hdfs::first_request(&loc, &options, write)
                .await?
                .with_context(|| format!("write {location}"))?;
            Ok(((client, loc), format!("{} bytes to {location}", data.len())))
        })
        .await;
    let Some((client, loc)) = client else {
        return;
    };
    c.run("hdfs", "read file", async {
        let r = client.read(&loc.path).await?;
        let got = r.read_range(0, r.file_length()).await?;
        if got != data {
            bail!(
                "read {} bytes that differ from the {} written",
                got.len(),
                data.len()
            );
        }
        Ok(((), format!("{} bytes read back", got.len())))
    })
    .await;
    c.run("hdfs", "delete file", async {
        if !client.delete(&loc.path, false).await? {
            bail!("{location} was not deleted");
        }
        Ok(((), location.clone()))
    })
    .await;
}

fn connect(address: &str, timeout: Duration) -> anyhow::Result<TcpStream> {
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {address}"))?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(anyhow!("cannot connect to {address}: {e}")),
        None => Err(anyhow!("{address} resolves to no address")),
    }
}

/// The MySQL/MariaDB server greeting (protocol 10 handshake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub protocol: u8,
    pub server_version: String,
}

/// Connects and reads the server's first packet.
pub fn mysql_greeting(address: &str, timeout: Duration) -> anyhow::Result<Greeting> {
    let mut s = connect(address, timeout)?;
    let wait = timeout.mul_f64(0.8);
    s.set_read_timeout(Some(wait))?;
    let mut header = [0u8; 4];
    s.read_exact(&mut header).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => anyhow!(
            "{address} sent no greeting within {}s: not a MySQL server?",
            wait.as_secs_f64()
        ),
        std::io::ErrorKind::UnexpectedEof => {
            anyhow!("{address} closed the connection without a greeting: not a MySQL server?")
        }
        _ => anyhow!("reading the greeting from {address}: {e}"),
    })?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)
        .context("reading the greeting packet")?;
    parse_greeting(&payload)
}

/// Parses a greeting packet's payload (or the error packet a server sends instead).
pub fn parse_greeting(payload: &[u8]) -> anyhow::Result<Greeting> {
    match payload.first() {
        Some(0xff) => {
            let code = payload
                .get(1..3)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
            let message = String::from_utf8_lossy(payload.get(3..).unwrap_or_default());
            bail!(
                "the server refused the connection: error {code}: {}",
                message.trim_start_matches('#')
            )
        }
        Some(&protocol) if protocol == 10 || protocol == 9 => {
            let rest = &payload[1..];
            let end = rest
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| anyhow!("greeting without a version string"))?;
            let version = String::from_utf8_lossy(&rest[..end]).into_owned();
            // MariaDB prefixes "5.5.5-" for old clients.
            let version = version
                .strip_prefix("5.5.5-")
                .map(str::to_string)
                .unwrap_or(version);
            Ok(Greeting {
                protocol,
                server_version: version,
            })
        }
        Some(other) => bail!("not a MySQL greeting (first byte {other:#04x})"),
        None => bail!("empty greeting packet"),
    }
}

/// Creates a uniquely named database in the metastore, checks that it is listed, and drops it.
pub fn metastore_round_trip(uri: &str, timeout: Duration) -> anyhow::Result<String> {
    let mut ms = Metastore::connect(uri, timeout)?;
    let name = format!("bigdata_verify_{:08x}", rand::random::<u32>());
    ms.create_database(&name, "created and dropped by bigdata-jobs verify")
        .context("failed to create a database")?;
    let listed = ms.all_databases().context("failed to list the databases");
    let dropped = ms
        .drop_database(&name, true)
        .with_context(|| format!("failed to drop database {name}"));
    let listed = listed?;
    dropped?;
    if !listed.contains(&name) {
        bail!("database {name} was created but is not listed");
    }
    Ok(format!(
        "created, listed and dropped database {name} at {uri} ({} other databases)",
        listed.len() - 1
    ))
}

/// `GET <url>/api/v1/version` of a Spark history server: its `spark` field.
pub fn spark_history_version(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("'{url}': expected http://host:port"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let path = format!("{prefix}/api/v1/version");
    let mut s = connect(&address, timeout)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .context("reading the HTTP response")?;
    let (status, body) = parse_http_response(&raw)?;
    if status != 200 {
        bail!(
            "GET {path}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    #[derive(Deserialize)]
    struct Version {
        spark: String,
    }
    let v: Version = serde_json::from_slice(&body).with_context(|| {
        format!(
            "GET {path}: not a version object: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        )
    })?;
    Ok(v.spark)
}

/// Status and body of an HTTP/1.x response (plain or chunked body).
pub fn parse_http_response(raw: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("incomplete HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            anyhow!(
                "bad HTTP status line: {}",
                head.lines().next().unwrap_or("")
            )
        })?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunked body"))?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| anyhow!("bad chunk size {size_text:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size {
            bail!("truncated chunked body");
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_versions_and_errors() {
        let mut p = vec![10];
        p.extend_from_slice(b"5.5.5-10.11.14-MariaDB-0+deb12u2\0rest");
        let g = parse_greeting(&p).unwrap();
        assert_eq!(g.server_version, "10.11.14-MariaDB-0+deb12u2");
        let mut p = vec![10];
        p.extend_from_slice(b"8.4.0\0");
        assert_eq!(parse_greeting(&p).unwrap().server_version, "8.4.0");
        let mut e = vec![0xff, 0x69, 0x04];
        e.extend_from_slice(b"Host '1.2.3.4' is not allowed");
        let err = parse_greeting(&e).unwrap_err().to_string();
        assert!(
            err.contains("error 1129") && err.contains("not allowed"),
            "{err}"
        );
        assert!(parse_greeting(b"HTTP/1.1").is_err());
    }

    #[test]
    fn http_plain_and_chunked() {
        let (s, b) =
            parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"hi"[..]));
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"sp\r\nd\r\nark\":\"3.5.1\"}\r\n0\r\n\r\n";
        let (s, b) = parse_http_response(raw).unwrap();
        assert_eq!(s, 200);
        assert_eq!(b, br#"{"spark":"3.5.1"}"#);
    }

    /// The Spark probe against a local responder that answers like a history server.
    #[test]
    fn spark_history_probe() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // The request may arrive in several segments: read up to the end of its headers.
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the probe closed before sending its request");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(request.starts_with(b"GET /api/v1/version HTTP/1.1\r\n"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\n  \"spark\" : \"4.0.1\"\n}")
                .unwrap();
        });
        let v = spark_history_version(&format!("http://{addr}"), Duration::from_secs(5)).unwrap();
        assert_eq!(v, "4.0.1");
    }
}
