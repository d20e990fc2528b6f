//! The shared HDFS client (hdfs-native): parsing `hdfs://` locations, building a client from the Hadoop
//! configuration (`HADOOP_CONF_DIR`, plus `key=value` overrides) and naming the NameNodes in errors.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdfs_native::{Client, ClientBuilder, HdfsError};
use tracing::warn;

/// A location on HDFS: the file system (`hdfs://authority`, or `None` for `fs.defaultFS`) and the absolute
/// path in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdfsLocation {
    /// `hdfs://host:port` or `hdfs://nameservice`; `None` when the location was a bare path.
    pub fs: Option<String>,
    /// Absolute, normalised path (no trailing slash, no `.`/`..` or empty components), `/` for the root.
    pub path: String,
}

impl HdfsLocation {
    /// Parses `hdfs://authority/path` or an absolute path (resolved against `fs.defaultFS`).
    pub fn parse(location: &str) -> anyhow::Result<Self> {
        let (fs, path) = if let Some(rest) = location.strip_prefix("hdfs://") {
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            if authority.is_empty() {
                bail!(
                    "'{location}': the hdfs:// URL has no host (expected hdfs://host:port/path or hdfs://nameservice/path)"
                );
            }
            (Some(format!("hdfs://{authority}")), path)
        } else if location.starts_with('/') {
            (None, location)
        } else if let Some((scheme, _)) = location.split_once("://") {
            bail!("'{location}': unsupported scheme {scheme}:// (expected hdfs://)");
        } else {
            bail!("'{location}': expected an hdfs:// URL or an absolute path");
        };
        let mut parts = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => bail!("'{location}': '..' is not allowed in paths"),
                p => parts.push(p),
            }
        }
        Ok(Self {
            fs,
            path: format!("/{}", parts.join("/")),
        })
    }

    /// The parent directory's path (`/` for top-level entries and for the root).
    pub fn parent(&self) -> &str {
        match self.path.rfind('/') {
            Some(0) | None => "/",
            Some(i) => &self.path[..i],
        }
    }

    /// The last path component (empty for the root).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// A sibling of this location (same parent directory) named `name`.
    pub fn sibling(&self, name: &str) -> String {
        match self.parent() {
            "/" => format!("/{name}"),
            parent => format!("{parent}/{name}"),
        }
    }

    /// Whether `self` is `other` or lies under it.
    pub fn is_within(&self, other: &HdfsLocation) -> bool {
        self.path == other.path
            || other.path == "/"
            || self
                .path
                .strip_prefix(&other.path)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// `hdfs://authority/path` (or the bare path).
    pub fn display(&self) -> String {
        match &self.fs {
            Some(fs) => format!("{fs}{}", self.path),
            None => self.path.clone(),
        }
    }
}

/// How to reach HDFS: the Hadoop configuration directory (default `HADOOP_CONF_DIR`) and overrides.
#[derive(Debug, Clone, Default)]
pub struct HdfsOptions {
    /// `key=value` Hadoop settings, applied over the configuration files.
    pub conf: Vec<(String, String)>,
    /// Fail when no NameNode answers within this time (first request).
    pub connect_timeout: Option<Duration>,
}

/// Parses a `key=value` Hadoop setting.
pub fn parse_conf_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected key=value, got '{s}'")),
    }
}

/// A client for the file system of `location` (`fs.defaultFS` when it has none).
pub fn client(location: &HdfsLocation, options: &HdfsOptions) -> anyhow::Result<Client> {
    let mut builder = ClientBuilder::new();
    if let Some(fs) = &location.fs {
        builder = builder.with_url(fs);
    }
    if !options.conf.is_empty() {
        builder = builder.with_config(options.conf.iter().cloned());
    }
    builder.build().with_context(|| {
        let hint = if location.fs.is_none() {
            " (a bare path needs fs.defaultFS: set HADOOP_CONF_DIR, or use an hdfs:// URL)"
        } else {
            ""
        };
        format!(
            "failed to create an HDFS client for {}{hint}",
            location.display()
        )
    })
}

/// The Hadoop settings visible to the client: the files in `HADOOP_CONF_DIR` (or
/// `HADOOP_HOME/etc/hadoop`), then the overrides. Only used to explain errors.
fn effective_conf(options: &HdfsOptions) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let dir = std::env::var_os("HADOOP_CONF_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HADOOP_HOME").map(|h| PathBuf::from(h).join("etc/hadoop")));
    if let Some(dir) = dir {
        for file in ["core-site.xml", "hdfs-site.xml"] {
            let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            let Ok(doc) = roxmltree::Document::parse(&text) else {
                continue;
            };
            for prop in doc.descendants().filter(|n| n.has_tag_name("property")) {
                let child = |tag: &str| {
                    prop.children()
                        .find(|c| c.has_tag_name(tag))
                        .and_then(|c| c.text())
                        .map(|t| t.trim().to_string())
                };
                if let (Some(k), Some(v)) = (child("name"), child("value")) {
                    map.insert(k, v);
                }
            }
        }
    }
    map.extend(options.conf.iter().cloned());
    map
}

/// The NameNode address(es) behind `location`, for error messages: `host:port` for a NameNode URL, the
/// configured `dfs.namenode.rpc-address.<ns>.<nn>` list for a nameservice.
pub fn namenode_addresses(location: &HdfsLocation, options: &HdfsOptions) -> String {
    let conf = effective_conf(options);
    let fs = location
        .fs
        .clone()
        .or_else(|| conf.get("fs.defaultFS").cloned())
        .unwrap_or_else(|| "(no fs.defaultFS configured)".to_string());
    let authority = fs
        .strip_prefix("hdfs://")
        .unwrap_or(&fs)
        .trim_end_matches('/');
    if let Some(nns) = conf.get(&format!("dfs.ha.namenodes.{authority}")) {
        let addrs: Vec<String> = nns
            .split(',')
            .map(|nn| {
                conf.get(&format!(
                    "dfs.namenode.rpc-address.{authority}.{}",
                    nn.trim()
                ))
                .cloned()
                .unwrap_or_else(|| format!("{} (no rpc-address)", nn.trim()))
            })
            .collect();
        format!("nameservice {authority}: NameNodes {}", addrs.join(", "))
    } else if authority.contains(':') {
        format!("NameNode {authority}")
    } else {
        format!("NameNode {authority}:8020")
    }
}

/// Whether an error means no NameNode could be reached (as opposed to an answer such as "not found").
pub fn is_unreachable(error: &HdfsError) -> bool {
    matches!(error, HdfsError::IOError(_))
}

/// Whether HDFS says "try again later": a `RetriableException`, e.g. a NameNode that just became active
/// (or restarted) and is still in safe mode, waiting for the DataNodes' block reports. Hadoop's Java
/// client retries these; hdfs-native hands them to the caller.
pub fn is_retriable(error: &HdfsError) -> bool {
    match error {
        HdfsError::RPCError(class, message) => {
            class.ends_with("RetriableException")
                || class.ends_with("SafeModeException")
                || message.contains("SafeModeException")
        }
        _ => false,
    }
}

/// How long `retry` keeps trying.
pub const RETRY_FOR: Duration = Duration::from_secs(120);

/// Runs `op` again while it fails with a retriable error (see `is_retriable`), with exponential backoff
/// (0.2 s doubling to 5 s), for at most `RETRY_FOR`. `op` must be safe to repeat.
pub async fn retry<T, F, Fut>(what: &str, mut op: F) -> Result<T, HdfsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, HdfsError>>,
{
    let deadline = Instant::now() + RETRY_FOR;
    let mut delay = Duration::from_millis(200);
    loop {
        match op().await {
            Err(e) if is_retriable(&e) && Instant::now() + delay < deadline => {
                warn!(operation = what, error = %e, retry_in_ms = delay.as_millis() as u64, "HDFS asks to retry");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            r => return r,
        }
    }
}

/// Runs the first request against HDFS with the connect timeout, turning "nobody answers" into an error
/// that names the NameNode address(es).
pub async fn first_request<T, F>(
    location: &HdfsLocation,
    options: &HdfsOptions,
    request: F,
) -> anyhow::Result<Result<T, HdfsError>>
where
    F: std::future::Future<Output = Result<T, HdfsError>>,
{
    let result = match options.connect_timeout {
        Some(limit) => match tokio::time::timeout(limit, request).await {
            Ok(r) => r,
            Err(_) => bail!(
                "cannot reach HDFS at {} ({}): no NameNode answered within {}s (the connect timeout)",
                location.display(),
                namenode_addresses(location, options),
                limit.as_secs_f64()
            ),
        },
        None => request.await,
    };
    match result {
        Err(e) if is_unreachable(&e) => Err(anyhow::anyhow!(e)).with_context(|| {
            format!(
                "cannot reach HDFS at {} ({})",
                location.display(),
                namenode_addresses(location, options)
            )
        }),
        r => Ok(r),
    }
}

/// The status of an input (the first request, with the connect timeout): "input ... does not exist" when
/// it does not.
pub async fn input_status(
    client: &Client,
    input: &HdfsLocation,
    options: &HdfsOptions,
) -> anyhow::Result<hdfs_native::client::FileStatus> {
    first_request(input, options, client.get_file_info(&input.path))
        .await?
        .map_err(|e| match e {
            HdfsError::FileNotFound(_) => {
                anyhow::anyhow!("input {} does not exist", input.display())
            }
            e => anyhow::anyhow!(e).context(format!("failed to read input {}", input.display())),
        })
}

/// The input files `(path, length, block size)`, sorted by path: the input itself if it is a file, else
/// the files under it, skipping names starting with `_` or `.` (Hadoop's hidden files, such as
/// `_SUCCESS` or a running job's temporary directory).
pub async fn list_input(
    client: &Client,
    input: &HdfsLocation,
    status: hdfs_native::client::FileStatus,
) -> anyhow::Result<Vec<(String, u64, u64)>> {
    const DEFAULT_BLOCK: u64 = 128 * 1024 * 1024;
    if !status.isdir {
        return Ok(vec![(
            input.path.clone(),
            status.length as u64,
            status.blocksize.unwrap_or(DEFAULT_BLOCK),
        )]);
    }
    let listing = client
        .list_status(&input.path, true)
        .await
        .with_context(|| format!("failed to list input {}", input.display()))?;
    let prefix = if input.path == "/" {
        "/".to_string()
    } else {
        format!("{}/", input.path)
    };
    let mut files: Vec<(String, u64, u64)> = listing
        .into_iter()
        .filter(|s| !s.isdir)
        .filter(|s| {
            let relative = s.path.strip_prefix(&prefix).unwrap_or(&s.path);
            !relative
                .split('/')
                .any(|c| c.starts_with('_') || c.starts_with('.'))
        })
        .map(|s| {
            (
                s.path,
                s.length as u64,
                s.blocksize.unwrap_or(DEFAULT_BLOCK),
            )
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_paths() {
        let l = HdfsLocation::parse("hdfs://127.0.0.1:9000/a//b/./c/").unwrap();
        assert_eq!(l.fs.as_deref(), Some("hdfs://127.0.0.1:9000"));
        assert_eq!(l.path, "/a/b/c");
        assert_eq!(l.parent(), "/a/b");
        assert_eq!(l.name(), "c");
        assert_eq!(l.sibling(".c.tmp"), "/a/b/.c.tmp");
        assert_eq!(l.display(), "hdfs://127.0.0.1:9000/a/b/c");

        let root = HdfsLocation::parse("hdfs://ns").unwrap();
        assert_eq!(root.path, "/");
        assert_eq!(root.parent(), "/");

        let top = HdfsLocation::parse("/out").unwrap();
        assert_eq!(top.fs, None);
        assert_eq!(top.sibling("x"), "/x");

        assert!(HdfsLocation::parse("hdfs:///x").is_err());
        assert!(HdfsLocation::parse("s3a://b/x").is_err());
        assert!(HdfsLocation::parse("relative/x").is_err());
        assert!(HdfsLocation::parse("/a/../b").is_err());
    }

    #[test]
    fn within() {
        let p = |s| HdfsLocation::parse(s).unwrap();
        assert!(p("/a/b").is_within(&p("/a")));
        assert!(p("/a").is_within(&p("/a")));
        assert!(!p("/ab").is_within(&p("/a")));
        assert!(p("/x").is_within(&p("/")));
    }

    #[test]
    fn retriable_errors() {
        let safe_mode = HdfsError::RPCError(
            "org.apache.hadoop.ipc.RetriableException".into(),
            "org.apache.hadoop.hdfs.server.namenode.SafeModeException: Name node is in safe mode."
                .into(),
        );
        assert!(is_retriable(&safe_mode));
        let not_found = HdfsError::RPCError(
            "java.io.FileNotFoundException".into(),
            "File does not exist: /x".into(),
        );
        assert!(!is_retriable(&not_found));
        assert!(!is_retriable(&HdfsError::FileNotFound("/x".into())));
    }

    #[tokio::test]
    async fn retry_repeats_only_retriable_errors() {
        let mut calls = 0;
        let r: Result<u32, HdfsError> = retry("test", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(HdfsError::RPCError(
                        "org.apache.hadoop.ipc.RetriableException".into(),
                        String::new(),
                    ))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: Result<(), HdfsError> = retry("test", || {
            calls += 1;
            async { Err(HdfsError::FileNotFound("/x".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn conf_pairs() {
        assert_eq!(
            parse_conf_pair("dfs.ha.namenodes.ns=nn1,nn2").unwrap(),
            ("dfs.ha.namenodes.ns".to_string(), "nn1,nn2".to_string())
        );
        assert!(parse_conf_pair("novalue").is_err());
    }

    #[test]
    fn namenode_addresses_from_overrides() {
        let options = HdfsOptions {
            conf: vec![
                ("dfs.ha.namenodes.ns".into(), "nn1,nn2".into()),
                ("dfs.namenode.rpc-address.ns.nn1".into(), "h1:1".into()),
                ("dfs.namenode.rpc-address.ns.nn2".into(), "h2:2".into()),
            ],
            connect_timeout: None,
        };
        let l = HdfsLocation::parse("hdfs://ns/x").unwrap();
        assert_eq!(
            namenode_addresses(&l, &options),
            "nameservice ns: NameNodes h1:1, h2:2"
        );
        let l = HdfsLocation::parse("hdfs://10.0.0.1:8020/x").unwrap();
        assert_eq!(namenode_addresses(&l, &options), "NameNode 10.0.0.1:8020");
    }
}
