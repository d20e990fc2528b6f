//! Prometheus metrics: counters and gauges in atomics, rendered in the text exposition format (0.0.4) by a
//! tiny HTTP responder (`GET /metrics`) on its own thread.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{info, warn};

/// One time series.
pub struct Metric {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    labels: String,
    value: AtomicI64,
}

impl Metric {
    pub fn add(&self, n: i64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn set(&self, v: i64) {
        self.value.store(v, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// A set of metrics, rendered in registration order (series of one name together).
#[derive(Default)]
pub struct Registry {
    metrics: std::sync::Mutex<Vec<Arc<Metric>>>,
}

impl Registry {
    /// A new registry, served on `addr` when there is one (the jobs' `--metrics-addr`).
    pub fn serving(addr: Option<SocketAddr>) -> anyhow::Result<Arc<Registry>> {
        let registry = Arc::new(Registry::default());
        if let Some(addr) = addr {
            registry.serve(addr)?;
        }
        Ok(registry)
    }

    fn register(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<Metric> {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(",");
        let m = Arc::new(Metric {
            name,
            help,
            kind,
            labels,
            value: AtomicI64::new(0),
        });
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(m.clone());
        m
    }

    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<Metric> {
        self.register(name, help, "counter", labels)
    }

    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<Metric> {
        self.register(name, help, "gauge", labels)
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&'static str> = Vec::new();
        for m in metrics.iter() {
            if !names.contains(&m.name) {
                names.push(m.name);
            }
        }
        let mut out = String::new();
        for name in names {
            let series: Vec<&Arc<Metric>> = metrics.iter().filter(|m| m.name == name).collect();
            let _ = writeln!(out, "# HELP {name} {}", series[0].help);
            let _ = writeln!(out, "# TYPE {name} {}", series[0].kind);
            for m in series {
                if m.labels.is_empty() {
                    let _ = writeln!(out, "{name} {}", m.get());
                } else {
                    let _ = writeln!(out, "{name}{{{}}} {}", m.labels, m.get());
                }
            }
        }
        out
    }

    /// Serves `GET /metrics` on `addr` from a thread of its own; returns the bound address.
    pub fn serve(self: &Arc<Self>, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("failed to listen for metrics on {addr}"))?;
        listener.set_nonblocking(true)?;
        let bound = listener.local_addr()?;
        let registry = self.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("failed to start the metrics runtime")?;
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            warn!(error = %e, "metrics: cannot serve");
                            return;
                        }
                    };
                    loop {
                        let Ok((socket, _)) = listener.accept().await else {
                            continue;
                        };
                        let registry = registry.clone();
                        tokio::spawn(async move {
                            let _ = respond(socket, &registry).await;
                        });
                    }
                })
            })
            .context("failed to start the metrics thread")?;
        info!(address = %bound, "metrics: serving /metrics");
        Ok(bound)
    }
}

async fn respond(mut socket: tokio::net::TcpStream, registry: &Registry) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Read the request head (up to 16 KiB, 5 s).
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            registry.render(),
        ),
        ("GET" | "HEAD", "/" | "/healthz") => ("200 OK", "text/plain", "ok\n".to_string()),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_string(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn renders_and_serves_the_exposition_format() {
        let r = Arc::new(Registry::default());
        let a = r.counter("x_total", "Things.", &[("reason", "late")]);
        let b = r.counter("x_total", "Things.", &[("reason", "bad\"json")]);
        let g = r.gauge("y", "A gauge.", &[]);
        a.add(3);
        b.inc();
        g.set(-2);
        assert_eq!(
            r.render(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{reason=\"late\"} 3\n\
             x_total{reason=\"bad\\\"json\"} 1\n# HELP y A gauge.\n# TYPE y gauge\ny -2\n"
        );
        let addr = r.serve("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with("y -2\n"), "{reply}");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /nope HTTP/1.0\r\n\r\n").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    }
}
