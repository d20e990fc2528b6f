//! Shared Kafka helpers (rdkafka, librdkafka built from source): client configuration, topic creation,
//! partition counts, and a stop flag for SIGTERM/SIGINT in the synchronous Kafka loops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;

/// A client configuration with the bootstrap servers and a client id.
pub fn config(bootstrap: &str, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", client_id)
        // librdkafka logs through the `log` crate, which tracing-subscriber picks up.
        .set("log_level", "6");
    c
}

/// Extra settings over a client configuration.
pub trait ExtendConfig {
    fn extend_from(&mut self, settings: &[(String, String)]) -> &mut Self;
}

impl ExtendConfig for ClientConfig {
    fn extend_from(&mut self, settings: &[(String, String)]) -> &mut Self {
        for (k, v) in settings {
            self.set(k, v);
        }
        self
    }
}

/// Creates `topic` with `partitions` partitions (replication: the broker's default) unless it exists.
/// Returns whether it was created.
pub async fn ensure_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> anyhow::Result<bool> {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap, "bigdata-jobs-admin")
        .create()
        .context("failed to create the Kafka admin client")?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics([&new], &opts)
        .await
        .with_context(|| format!("failed to create the topic {topic} on {bootstrap}"))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => bail!("failed to create the topic {topic} on {bootstrap}: {code}"),
        None => bail!("failed to create the topic {topic} on {bootstrap}: no result"),
    }
}

/// Deletes `topic` (best effort for probes' temporary topics).
pub async fn delete_topic(bootstrap: &str, topic: &str, timeout: Duration) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap, "bigdata-jobs-admin")
        .create()
        .context("failed to create the Kafka admin client")?;
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin.delete_topics(&[topic], &opts).await?;
    for r in results {
        if let Err((_, code)) = r {
            bail!("failed to delete the topic {topic}: {code}");
        }
    }
    Ok(())
}

/// The number of partitions of `topic`, or `None` when it does not exist.
pub fn partition_count<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Option<usize>> {
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("failed to read the metadata of the topic {topic}"))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    match t.error() {
        None if !t.partitions().is_empty() => Ok(Some(t.partitions().len())),
        None => Ok(None),
        Some(e) if RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition => {
            Ok(None)
        }
        Some(e) => bail!("the topic {topic}: {}", RDKafkaErrorCode::from(e)),
    }
}

/// A flag set by the first SIGTERM or SIGINT (watched by a small thread), with the signal's name.
#[derive(Clone, Default)]
pub struct StopFlag {
    stopped: Arc<AtomicBool>,
    signal: Arc<std::sync::Mutex<Option<&'static str>>>,
}

impl StopFlag {
    /// Installs the handlers (before any work, so that a signal is never missed).
    pub fn on_signals() -> anyhow::Result<StopFlag> {
        let flag = StopFlag::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("failed to start the signal thread's runtime")?;
        let (term, int) = runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })?;
        let f = flag.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let (mut term, mut int) = (term, int);
                let name = runtime.block_on(async {
                    tokio::select! {
                        _ = term.recv() => "SIGTERM",
                        _ = int.recv() => "SIGINT",
                    }
                });
                f.stop(name);
            })
            .context("failed to start the signal thread")?;
        Ok(flag)
    }

    pub fn stop(&self, signal: &'static str) {
        *self.signal.lock().unwrap_or_else(|p| p.into_inner()) = Some(signal);
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    pub fn signal(&self) -> Option<&'static str> {
        *self.signal.lock().unwrap_or_else(|p| p.into_inner())
    }
}
