//! Prometheus metrics: counters, gauges and fixed-bucket histograms in atomics, rendered in the text
//! exposition format (0.0.4) by a tiny HTTP responder (`GET /metrics`) on its own thread.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// A gauge with a fractional value (e.g. a price), as f64 bits.
pub struct FloatGauge {
    name: &'static str,
    help: &'static str,
    labels: String,
    bits: AtomicU64,
}

impl FloatGauge {
    pub fn set(&self, v: f64) {
        self.bits.store(v.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

/// Float gauges of one name, one per value of one label (e.g. a gauge per bike station), registered when a
/// value is first set. At most `limit` of them: the exposition stays bounded whatever the data holds; the
/// values past the limit are not shown (a warning says so, once).
pub struct GaugeFamily {
    registry: Arc<Registry>,
    name: &'static str,
    help: &'static str,
    label: &'static str,
    limit: usize,
    gauges: Mutex<HashMap<String, Arc<FloatGauge>>>,
    /// Set when a value was refused (the warning is given once).
    full: AtomicBool,
}

impl GaugeFamily {
    /// Sets the gauge of label value `key`; false when it is not shown (the family is full).
    pub fn set(&self, key: &str, v: f64) -> bool {
        let mut gauges = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = gauges.get(key) {
            g.set(v);
            return true;
        }
        if gauges.len() >= self.limit {
            if !self.full.swap(true, Ordering::Relaxed) {
                warn!(
                    metric = self.name,
                    limit = self.limit,
                    "metrics: too many {} values; those past the limit are not shown",
                    self.label
                );
            }
            return false;
        }
        let g = self
            .registry
            .float_gauge(self.name, self.help, &[(self.label, key)]);
        g.set(v);
        gauges.insert(key.to_string(), g);
        true
    }

    /// The value of `key`'s gauge, if it is shown.
    pub fn get(&self, key: &str) -> Option<f64> {
        let gauges = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        gauges.get(key).map(|g| g.get())
    }
}

/// A histogram with fixed buckets (`bounds`: ascending upper bounds, then +Inf), rendered as a Prometheus
/// histogram (cumulative `_bucket{le}` counts, `_sum`, `_count`).
pub struct Histogram {
    name: &'static str,
    help: &'static str,
    labels: String,
    bounds: Vec<f64>,
    /// One per bound, then +Inf.
    counts: Vec<AtomicU64>,
    /// The sum of the observations, as f64 bits.
    sum: AtomicU64,
}

impl Histogram {
    /// Records a batch of observations (each bucket's counter touched once).
    pub fn observe_all(&self, values: impl IntoIterator<Item = f64>) {
        let mut local = vec![0u64; self.counts.len()];
        let mut sum = 0.0;
        for v in values {
            // The first bound >= v (Prometheus buckets are `le`: upper bound included); +Inf past them.
            local[self.bounds.partition_point(|b| *b < v)] += 1;
            sum += v;
        }
        for (c, n) in self.counts.iter().zip(&local) {
            if *n > 0 {
                c.fetch_add(*n, Ordering::Relaxed);
            }
        }
        if sum != 0.0 {
            let _ = self
                .sum
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                    Some((f64::from_bits(bits) + sum).to_bits())
                });
        }
    }

    pub fn observe(&self, v: f64) {
        self.observe_all([v]);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// The `q` quantile (0..=1) estimated from the buckets as Prometheus' `histogram_quantile` does:
    /// linear within the bucket that holds the rank (the first bucket starts at 0; ranks in the +Inf
    /// bucket give the largest finite bound). `None` without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &n) in counts.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let Some(&upper) = self.bounds.get(i) else {
                    return self.bounds.last().copied();
                };
                let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                return Some(lower + (upper - lower) * (rank - below as f64) / n as f64);
            }
            below += n;
        }
        self.bounds.last().copied()
    }

    fn render(&self, out: &mut String) {
        let name = self.name;
        let sep = if self.labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{}{sep}le=\"{bound}\"}} {cumulative}",
                self.labels
            );
        }
        let total = self.count();
        let _ = writeln!(
            out,
            "{name}_bucket{{{}{sep}le=\"+Inf\"}} {total}",
            self.labels
        );
        write_sample(out, &format!("{name}_sum"), &self.labels, self.sum());
        write_sample(out, &format!("{name}_count"), &self.labels, total);
    }
}

/// One sample line: `name value`, or `name{labels} value`.
fn write_sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = if labels.is_empty() {
        writeln!(out, "{name} {value}")
    } else {
        writeln!(out, "{name}{{{labels}}} {value}")
    };
}

/// Bucket bounds for latencies in seconds: 1 ms to 90 s, 16 a decade (1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5,
/// 4, 4.5, 5, 6, 7, 8, 9), each at most 25% above the one below, so that quantiles estimated from them are
/// within ~12% (and the 1-2-5 bounds of coarser dashboards are among them).
pub fn latency_buckets() -> Vec<f64> {
    const MANTISSAS: [u64; 16] = [
        100, 120, 140, 160, 180, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900,
    ];
    let mut bounds = Vec::new();
    // Microseconds per hundredth of the decade's first bound: 1 ms, 10 ms, ..., 10 s.
    for decade in [10u64, 100, 1_000, 10_000, 100_000] {
        for m in MANTISSAS {
            bounds.push((m * decade) as f64 / 1e6);
        }
    }
    bounds
}

enum Series {
    Scalar(Arc<Metric>),
    Float(Arc<FloatGauge>),
    Histogram(Arc<Histogram>),
}

impl Series {
    fn name(&self) -> &'static str {
        match self {
            Series::Scalar(m) => m.name,
            Series::Float(g) => g.name,
            Series::Histogram(h) => h.name,
        }
    }

    fn help_and_kind(&self) -> (&'static str, &'static str) {
        match self {
            Series::Scalar(m) => (m.help, m.kind),
            Series::Float(g) => (g.help, "gauge"),
            Series::Histogram(h) => (h.help, "histogram"),
        }
    }
}

/// A sample value in the exposition format (Rust writes infinities as `inf`, Prometheus reads `+Inf`).
fn format_float(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        v.to_string()
    }
}

/// A set of metrics, rendered in registration order (series of one name together).
#[derive(Default)]
pub struct Registry {
    metrics: std::sync::Mutex<Vec<Series>>,
}

fn render_labels(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",")
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

    fn add(&self, series: Series) {
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(series);
    }

    fn register(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<Metric> {
        let m = Arc::new(Metric {
            name,
            help,
            kind,
            labels: render_labels(labels),
            value: AtomicI64::new(0),
        });
        self.add(Series::Scalar(m.clone()));
        m
    }

    /// A histogram with the bucket upper bounds `bounds` (ascending; +Inf is added).
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        bounds: &[f64],
    ) -> Arc<Histogram> {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "{name}: bucket bounds must ascend"
        );
        let h = Arc::new(Histogram {
            name,
            help,
            labels: render_labels(labels),
            bounds: bounds.to_vec(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        });
        self.add(Series::Histogram(h.clone()));
        h
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

    /// A float gauge (a fractional value, e.g. a price).
    pub fn float_gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<FloatGauge> {
        let g = Arc::new(FloatGauge {
            name,
            help,
            labels: render_labels(labels),
            bits: AtomicU64::new(0f64.to_bits()),
        });
        self.add(Series::Float(g.clone()));
        g
    }

    /// Float gauges named `name`, one per value of `label`, at most `limit` (see [`GaugeFamily`]).
    pub fn gauge_family(
        self: &Arc<Self>,
        name: &'static str,
        help: &'static str,
        label: &'static str,
        limit: usize,
    ) -> GaugeFamily {
        GaugeFamily {
            registry: self.clone(),
            name,
            help,
            label,
            limit,
            gauges: Mutex::new(HashMap::new()),
            full: AtomicBool::new(false),
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&'static str> = Vec::new();
        for m in metrics.iter() {
            if !names.contains(&m.name()) {
                names.push(m.name());
            }
        }
        let mut out = String::new();
        for name in names {
            let series: Vec<&Series> = metrics.iter().filter(|m| m.name() == name).collect();
            let (help, kind) = series[0].help_and_kind();
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for s in series {
                match s {
                    Series::Scalar(m) => write_sample(&mut out, name, &m.labels, m.get()),
                    Series::Float(g) => {
                        write_sample(&mut out, name, &g.labels, format_float(g.get()))
                    }
                    Series::Histogram(h) => h.render(&mut out),
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
    fn a_gauge_family_registers_a_gauge_per_value_up_to_its_limit() {
        let r = Arc::new(Registry::default());
        let price = r.gauge_family("price", "The price.", "symbol", 2);
        assert!(price.set("SM", 950.25));
        assert!(price.set("ALI", 23.5));
        assert!(price.set("SM", 951.0));
        assert!(!price.set("BDO", 120.0), "past the limit");
        assert_eq!(price.get("SM"), Some(951.0));
        assert_eq!(price.get("BDO"), None);
        let big = r.float_gauge("big", "Unbounded.", &[]);
        big.set(f64::INFINITY);
        assert_eq!(
            r.render(),
            "# HELP price The price.\n# TYPE price gauge\nprice{symbol=\"SM\"} 951\nprice{symbol=\"ALI\"} 23.5\n\
             # HELP big Unbounded.\n# TYPE big gauge\nbig +Inf\n"
        );
    }

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

    #[test]
    fn histograms_render_cumulative_buckets_and_estimate_quantiles() {
        let r = Registry::default();
        let c = r.counter("a_total", "A.", &[]);
        let h = r.histogram("lat_seconds", "Latency.", &[], &[0.001, 0.002, 0.005, 0.01]);
        c.inc();
        // 0.001 is in the first bucket (upper bounds are included), 0.02 past them all (+Inf).
        h.observe_all([0.001, 0.0015, 0.002, 0.004, 0.02]);
        h.observe(0.0005);
        assert_eq!(h.count(), 6);
        assert!((h.sum() - 0.029).abs() < 1e-12, "{}", h.sum());
        let text = r.render();
        let (head, sum) = text.split_once("lat_seconds_sum ").unwrap();
        assert_eq!(
            head,
            "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n\
             # HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{le=\"0.001\"} 2\nlat_seconds_bucket{le=\"0.002\"} 4\n\
             lat_seconds_bucket{le=\"0.005\"} 5\nlat_seconds_bucket{le=\"0.01\"} 5\n\
             lat_seconds_bucket{le=\"+Inf\"} 6\n"
        );
        let (sum, count) = sum.split_once('\n').unwrap();
        assert!((sum.parse::<f64>().unwrap() - 0.029).abs() < 1e-12, "{sum}");
        assert_eq!(count, "lat_seconds_count 6\n");
        // Rank 3 of 6 is the first of the two in (0.001, 0.002]: half-way through that bucket.
        assert!((h.quantile(0.5).unwrap() - 0.0015).abs() < 1e-12);
        // Rank 1.2 of 6: 60% through the first bucket [0, 0.001].
        assert!((h.quantile(0.2).unwrap() - 0.0006).abs() < 1e-12);
        // In +Inf: the largest finite bound.
        assert_eq!(h.quantile(0.99), Some(0.01));
        let empty = r.histogram("e_seconds", "E.", &[("x", "y")], &[1.0]);
        assert_eq!(empty.quantile(0.5), None);
        assert!(r.render().ends_with(
            "e_seconds_bucket{x=\"y\",le=\"1\"} 0\ne_seconds_bucket{x=\"y\",le=\"+Inf\"} 0\n\
             e_seconds_sum{x=\"y\"} 0\ne_seconds_count{x=\"y\"} 0\n"
        ));
    }

    #[test]
    fn latency_buckets_are_fine_and_print_short() {
        let bounds = latency_buckets();
        assert_eq!(bounds.len(), 80);
        assert_eq!(bounds[0], 0.001);
        assert_eq!(*bounds.last().unwrap(), 90.0);
        assert!(
            bounds
                .windows(2)
                .all(|w| w[1] > w[0] && w[1] <= w[0] * 1.25 + 1e-12)
        );
        let text: Vec<String> = bounds[..8].iter().map(|b| b.to_string()).collect();
        assert_eq!(
            text.join(" "),
            "0.001 0.0012 0.0014 0.0016 0.0018 0.002 0.0025 0.003"
        );
        for b in [0.005, 0.01, 0.1, 0.25, 1.0, 2.0, 5.0, 10.0, 50.0] {
            assert!(bounds.contains(&b), "{b}");
        }
        // Whole milliseconds fall on the bounds exactly (2 ms is in the bucket le=0.002).
        let r = Registry::default();
        let h = r.histogram("l", "L.", &[], &bounds);
        h.observe(2.0 / 1000.0);
        assert!(r.render().contains("l_bucket{le=\"0.002\"} 1\n"));
    }
}
