//! `helm bigdata verify`: render the verification Job (handlebars), run it, read its report.
//!
//! The report is the last line of the pod's log: `{"checks": [{"component", "check", "ok", "millis",
//! "detail"}]}`, written by `bigdata-jobs verify`. On a simulated node (kwok) the pod runs no container
//! and so proves nothing: verify then says it could not verify, and never reports success.

use std::time::Duration;

use handlebars::Handlebars;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};
use serde::{Deserialize, Serialize};

use crate::access::{ApiError, OrExplain};
use crate::component::Component;
use crate::health::wait::job_condition;

const TEMPLATE: &str = include_str!("../templates/verify-job.yaml.hbs");

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("failed to render the verification Job: {0}")]
    Render(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the verification Job {name} did not finish in {}s", waited.as_secs())]
    Timeout { name: String, waited: Duration },
    #[error(
        "the verification pod {pod} printed no report (no log line is a JSON report; the last: {last_line:?})"
    )]
    NoReport { pod: String, last_line: String },
}

/// What the Job is rendered from.
#[derive(Debug, Clone, Serialize)]
pub struct JobInputs {
    pub name: String,
    pub namespace: String,
    pub platform: String,
    pub image: String,
    pub deadline_seconds: u64,
    pub hdfs_url: String,
    /// Confluent's API of the kafka chart's schema registry, "" when it does not run.
    pub schema_registry_url: String,
    pub mysql: bool,
    pub hdfs: bool,
    pub hive_metastore: bool,
    pub spark: bool,
    pub kafka: bool,
}

impl JobInputs {
    pub fn with_components(mut self, installed: &[Component]) -> JobInputs {
        self.mysql = installed.contains(&Component::Mysql);
        self.hdfs = installed.contains(&Component::Hdfs);
        self.hive_metastore = installed.contains(&Component::HiveMetastore);
        self.spark = installed.contains(&Component::Spark);
        self.kafka = installed.contains(&Component::Kafka);
        self
    }
}

/// Confluent's API of the kafka chart's schema registry, from the release's `schemaRegistry` values: its
/// Service `<platform>-kafka-schema-registry` on `port` (8080); "" when `enabled` is not true. Pure.
pub fn schema_registry_url(platform: &str, values: &serde_yaml::Value) -> String {
    if !values["enabled"].as_bool().unwrap_or(false) {
        return String::new();
    }
    let port = values["port"].as_u64().unwrap_or(8080);
    format!("http://{platform}-kafka-schema-registry:{port}/apis/ccompat/v7")
}

/// Renders the Job. Pure.
pub fn render(inputs: &JobInputs) -> Result<Job, VerifyError> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    let yaml = engine
        .render_template(TEMPLATE, inputs)
        .map_err(|e| VerifyError::Render(e.to_string()))?;
    serde_yaml::from_str(&yaml).map_err(|e| VerifyError::Render(format!("{e}\n{yaml}")))
}

/// One probe's result, as `bigdata-jobs verify` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub component: String,
    pub check: String,
    pub ok: bool,
    pub millis: u64,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub checks: Vec<CheckResult>,
}

/// How a verification ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// The probes ran; see each check.
    Ran(Report),
    /// The pod ran on a simulated node: no container ran, nothing was verified.
    NotVerified { node: String },
}

/// Reads the report from the pod's log: its last line that parses as a report. Pure.
/// The report is the last line of the pod's log that parses as one: the job prints it on stdout after its
/// table on stderr, and a container log does not keep the order between the two streams.
pub fn parse_report(pod: &str, log: &str) -> Result<Report, VerifyError> {
    let mut lines = log.lines().rev().filter(|l| !l.trim().is_empty());
    let last = lines.clone().next().unwrap_or_default();
    lines
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| VerifyError::NoReport {
            pod: pod.to_string(),
            last_line: last.chars().take(200).collect(),
        })
}

/// Creates the Job, waits for it, and reads its verdict.
pub async fn run(client: &Client, job: &Job, timeout: Duration) -> Result<Verdict, VerifyError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let ns = job.metadata.namespace.clone().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    jobs.create(&PostParams::default(), job)
        .await
        .or_explain(|| format!("create the verification Job {name} in namespace {ns:?}"))?;
    let finished = |j: Option<&Job>| {
        j.is_some_and(|j| job_condition(j, "Complete") || job_condition(j, "Failed"))
    };
    tokio::time::timeout(timeout, await_condition(jobs, &name, finished))
        .await
        .map_err(|_| VerifyError::Timeout {
            name: name.clone(),
            waited: timeout,
        })?
        .or_explain(|| format!("watch the verification Job {name}"))?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let listed = pods
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .or_explain(|| format!("list the pods of the verification Job {name}"))?;
    let pod = listed
        .items
        .into_iter()
        .next_back()
        .ok_or_else(|| VerifyError::NoReport {
            pod: format!("(no pod of {name})"),
            last_line: String::new(),
        })?;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    if let Some(node) = crate::cluster::simulated_node_of(client, &pod)
        .await
        .or_explain(|| format!("read the node of pod {pod_name}"))?
    {
        return Ok(Verdict::NotVerified { node });
    }
    let log = pods
        .logs(&pod_name, &LogParams::default())
        .await
        .or_explain(|| format!("read the log of pod {pod_name}"))?;
    Ok(Verdict::Ran(parse_report(&pod_name, &log)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> JobInputs {
        JobInputs {
            name: "bigdata-verify-1".into(),
            namespace: "data".into(),
            platform: "bigdata".into(),
            image: "bigdata/jobs:0.1.0".into(),
            deadline_seconds: 300,
            hdfs_url: "hdfs://bigdata-hdfs-namenode:8020".into(),
            schema_registry_url: String::new(),
            mysql: false,
            hdfs: false,
            hive_metastore: false,
            spark: false,
            kafka: false,
        }
    }

    fn env_names(job: &Job) -> Vec<String> {
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        pod.containers[0]
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    #[test]
    fn the_job_probes_only_installed_components() {
        let job = render(&inputs().with_components(&[Component::Kafka])).unwrap();
        assert_eq!(
            env_names(&job),
            ["BIGDATA_PLATFORM", "BIGDATA_KAFKA_BOOTSTRAP"]
        );
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        assert!(pod.volumes.is_none());
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("bigdata/jobs:0.1.0")
        );
    }

    #[test]
    fn the_schema_registry_is_probed_when_the_kafka_release_runs_one() {
        let values = |yaml: &str| serde_yaml::from_str::<serde_yaml::Value>(yaml).unwrap();
        assert_eq!(schema_registry_url("lake", &values("enabled: false")), "");
        assert_eq!(schema_registry_url("lake", &serde_yaml::Value::Null), "");
        let url = schema_registry_url("lake", &values("{enabled: true, port: 8081}"));
        assert_eq!(
            url,
            "http://lake-kafka-schema-registry:8081/apis/ccompat/v7"
        );
        let job = render(&JobInputs {
            schema_registry_url: url.clone(),
            ..inputs().with_components(&[Component::Kafka])
        })
        .unwrap();
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let env = pod.containers[0].env.as_ref().unwrap();
        let registry = env
            .iter()
            .find(|e| e.name == "BIGDATA_SCHEMA_REGISTRY_URL")
            .unwrap();
        assert_eq!(registry.value.as_deref(), Some(url.as_str()));
    }

    #[test]
    fn with_hdfs_the_job_mounts_the_hadoop_configuration() {
        let job = render(&inputs().with_components(&Component::ALL)).unwrap();
        let names = env_names(&job);
        assert!(names.contains(&"HADOOP_CONF_DIR".to_string()));
        assert!(names.contains(&"BIGDATA_METASTORE_URI".to_string()));
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let volume = &pod.volumes.as_ref().unwrap()[0];
        assert_eq!(
            volume.config_map.as_ref().unwrap().name,
            "bigdata-hdfs-config"
        );
        assert_eq!(
            pod.security_context.as_ref().unwrap().run_as_non_root,
            Some(true)
        );
        assert!(
            pod.containers[0]
                .resources
                .as_ref()
                .unwrap()
                .limits
                .is_some()
        );
    }

    #[test]
    fn the_report_is_the_last_json_line() {
        let log = "starting\n{\"checks\":[{\"component\":\"kafka\",\"check\":\"produce and consume\",\"ok\":true,\"millis\":12}]}\n";
        let report = parse_report("p", log).unwrap();
        assert_eq!(report.checks.len(), 1);
        assert!(report.checks[0].ok);
        let error = parse_report("p", "Exception in thread main\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("printed no report"), "{error}");
        // stderr's table may come after stdout's report in the container log (seen on the lab's real node)
        let interleaved =
            "{\"checks\":[]}\nok   hive-metastore  create and drop a database  527 ms\n";
        assert!(parse_report("p", interleaved).unwrap().checks.is_empty());
    }
}
