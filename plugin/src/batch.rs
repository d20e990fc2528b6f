//! `helm bigdata run`: the batch jobs of `bigdata-jobs` (wordcount, compact) as Kubernetes Jobs, rendered
//! (handlebars, `templates/batch-job.yaml.hbs`) for the installed platform, created, and waited for.
//!
//! With `--parallelism N` above 1 the Job is an Indexed Job of N completions, N at a time: every pod
//! takes its `JOB_COMPLETION_INDEX` share (`--shards N`): wordcount's byte ranges (the last index merges),
//! compact's dates. The build (`render`) is pure; `run` creates and waits; the outcome names the pods
//! that failed, why, and their last log lines. On simulated nodes (kwok) no container runs: the Job
//! "completes" but nothing was computed, and the outcome says so instead of reporting success.

use std::time::Duration;

use handlebars::Handlebars;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};
use serde::Serialize;

use crate::access::{ApiError, OrExplain};
use crate::component::Component;
use crate::health::wait::{PodProblem, WaitError, job_condition, problems};

const TEMPLATE: &str = include_str!("../templates/batch-job.yaml.hbs");

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("failed to render the {job} Job: {message}")]
    Render { job: &'static str, message: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<WaitError> for BatchError {
    fn from(e: WaitError) -> Self {
        BatchError::Api(e.0)
    }
}

/// A batch job and its own arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchJob {
    /// Counts the words of `input` into `output` (both HDFS paths or URLs).
    Wordcount {
        input: String,
        output: String,
        overwrite: bool,
    },
    /// Landed events under `input` to the Parquet table `table` of `kind` (bikes, stocks).
    Compact {
        input: String,
        table: String,
        kind: String,
    },
}

impl BatchJob {
    /// The subcommand of `bigdata-jobs`, and the Job's component label.
    pub fn name(&self) -> &'static str {
        match self {
            BatchJob::Wordcount { .. } => "wordcount",
            BatchJob::Compact { .. } => "compact",
        }
    }

    /// The components the job talks to.
    pub fn needs(&self) -> &'static [Component] {
        match self {
            BatchJob::Wordcount { .. } => &[Component::Hdfs],
            BatchJob::Compact { .. } => &[Component::Hdfs, Component::HiveMetastore],
        }
    }

    /// The arguments of `bigdata-jobs`, for a Job of `parallelism` pods.
    fn args(&self, parallelism: u32) -> Vec<String> {
        let mut args = vec![self.name().to_string()];
        match self {
            BatchJob::Wordcount {
                input,
                output,
                overwrite,
            } => {
                args.push(format!("--input={input}"));
                args.push(format!("--output={output}"));
                if *overwrite {
                    args.push("--overwrite".into());
                }
            }
            BatchJob::Compact { input, table, kind } => {
                args.push(format!("--input={input}"));
                args.push(format!("--table={table}"));
                args.push(format!("--kind={kind}"));
            }
        }
        if parallelism > 1 {
            args.push(format!("--shards={parallelism}"));
        }
        args
    }

    /// Requests and limits of one pod: cpu request, memory request, cpu limit, memory limit.
    fn resources(&self) -> [&'static str; 4] {
        match self {
            // The counts of the distinct words are held in memory.
            BatchJob::Wordcount { .. } => ["1", "256Mi", "2", "1Gi"],
            // One date's events are held in memory (about 1 kB each).
            BatchJob::Compact { .. } => ["500m", "256Mi", "2", "1Gi"],
        }
    }
}

/// Where the Job runs and against what.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub namespace: String,
    pub platform: String,
    pub image: String,
    pub parallelism: u32,
    pub deadline: Duration,
    /// `thrift://...` of the platform's metastore.
    pub metastore_uri: String,
}

/// What the template is rendered from.
#[derive(Debug, Serialize)]
struct TemplateInputs<'a> {
    name: &'a str,
    namespace: &'a str,
    platform: &'a str,
    image: &'a str,
    job: &'static str,
    /// Each already quoted as a JSON (so YAML) string.
    args: Vec<String>,
    indexed: bool,
    parallelism: u32,
    deadline_seconds: u64,
    metastore_uri: Option<&'a str>,
    run_id_env: Option<&'static str>,
    cpu_request: &'static str,
    memory_request: &'static str,
    cpu_limit: &'static str,
    memory_limit: &'static str,
}

/// Renders the Job. Pure.
pub fn render(job: &BatchJob, target: &Target) -> Result<Job, BatchError> {
    let failed = |message: String| BatchError::Render {
        job: job.name(),
        message,
    };
    let args = job
        .args(target.parallelism)
        .iter()
        .map(|a| serde_json::to_string(a).map_err(|e| failed(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let indexed = target.parallelism > 1;
    let [cpu_request, memory_request, cpu_limit, memory_limit] = job.resources();
    let inputs = TemplateInputs {
        name: &target.name,
        namespace: &target.namespace,
        platform: &target.platform,
        image: &target.image,
        job: job.name(),
        args,
        indexed,
        parallelism: target.parallelism,
        deadline_seconds: target.deadline.as_secs().max(1),
        metastore_uri: job
            .needs()
            .contains(&Component::HiveMetastore)
            .then_some(target.metastore_uri.as_str()),
        // wordcount's partials are named by the run; compact needs no run id.
        run_id_env: (indexed && matches!(job, BatchJob::Wordcount { .. }))
            .then_some("BIGDATA_WORDCOUNT_RUN_ID"),
        cpu_request,
        memory_request,
        cpu_limit,
        memory_limit,
    };
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(handlebars::no_escape);
    let yaml = engine
        .render_template(TEMPLATE, &inputs)
        .map_err(|e| failed(e.to_string()))?;
    serde_yaml::from_str(&yaml).map_err(|e| failed(format!("{e}\n{yaml}")))
}

/// How one pod of the Job ended.
#[derive(Debug, Clone, Serialize)]
pub struct PodResult {
    pub pod: String,
    /// The completion index of an Indexed Job's pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    pub phase: String,
    /// The simulated node it was bound to, if any: then no container ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated_node: Option<String>,
    /// The last line of its log (the job's summary), when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_line: Option<String>,
}

/// How the Job ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Every index completed, on real nodes.
    Completed { seconds: f64, pods: Vec<PodResult> },
    /// The Job completed on simulated nodes: no container ran, nothing was computed.
    Simulated { pods: Vec<PodResult> },
    /// The Job failed, or did not finish in time: the pods that did not succeed and why.
    Failed {
        message: String,
        problems: Vec<PodProblem>,
    },
}

/// Creates the Job, waits for it to complete or fail (at most `timeout`), and says how it went.
pub async fn run(client: &Client, job: &Job, timeout: Duration) -> Result<Outcome, BatchError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let ns = job.metadata.namespace.clone().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let started = std::time::Instant::now();
    jobs.create(&PostParams::default(), job)
        .await
        .or_explain(|| format!("create Job {name} in namespace {ns:?}"))?;
    let finished = tokio::time::timeout(timeout, await_condition(jobs, &name, job_finished))
        .await
        .ok()
        .transpose()
        .or_explain(|| format!("watch Job {name}"))?;
    let failure = match finished.flatten() {
        None => Some(format!(
            "Job {name} did not finish in {}s",
            timeout.as_secs()
        )),
        Some(j) if job_condition(&j, "Failed") => Some(format!(
            "Job {name} failed: {}",
            failed_message(&j).unwrap_or_else(|| "no reason given".into())
        )),
        Some(_) => None,
    };
    if let Some(message) = failure {
        let problems = problems(client, &ns, &name).await?;
        return Ok(Outcome::Failed { message, problems });
    }
    let seconds = started.elapsed().as_secs_f64();
    let pods = pod_results(client, &ns, &name).await?;
    Ok(if pods.iter().any(|p| p.simulated_node.is_some()) {
        Outcome::Simulated { pods }
    } else {
        Outcome::Completed { seconds, pods }
    })
}

fn job_finished(job: Option<&Job>) -> bool {
    job.is_some_and(|j| job_condition(j, "Complete") || job_condition(j, "Failed"))
}

fn failed_message(job: &Job) -> Option<String> {
    let c = job
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Failed")?;
    Some(format!(
        "{} {}",
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default()
    ))
}

/// The Job's succeeded pods, by completion index.
async fn pod_results(client: &Client, ns: &str, name: &str) -> Result<Vec<PodResult>, BatchError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let listed = pods
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .or_explain(|| format!("list the pods of Job {name}"))?;
    let mut results = Vec::new();
    for pod in listed.items {
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        if phase != "Succeeded" {
            continue;
        }
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let simulated_node = match crate::cluster::simulated_node_of(client, &pod).await {
            Ok(node) => node,
            // Nodes are cluster-wide: a namespace's Role cannot grant reading them. Then the pod's
            // own container statuses tell whether a container ran.
            Err(kube::Error::Api(status)) if status.code == 403 => {
                crate::cluster::ran_no_container(&pod).then(|| {
                    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
                    format!("{} (no container id)", node.unwrap_or_default())
                })
            }
            Err(e) => {
                return Err(ApiError::new(format!("read the node of pod {pod_name}"), &e).into());
            }
        };
        let last_line = match simulated_node {
            Some(_) => None,
            None => pods
                .logs(&pod_name, &LogParams::default())
                .await
                .ok()
                .and_then(|log| {
                    log.lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(String::from)
                }),
        };
        results.push(PodResult {
            index: pod
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("batch.kubernetes.io/job-completion-index").cloned()),
            pod: pod_name,
            phase,
            simulated_node,
            last_line,
        });
    }
    results.sort_by(|a, b| {
        let key = |p: &PodResult| p.index.as_deref().and_then(|i| i.parse::<u32>().ok());
        key(a).cmp(&key(b)).then(a.pod.cmp(&b.pod))
    });
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(parallelism: u32) -> Target {
        Target {
            name: "bigdata-wordcount-1".into(),
            namespace: "data".into(),
            platform: "bigdata".into(),
            image: "bigdata/jobs:0.1.0".into(),
            parallelism,
            deadline: Duration::from_secs(3600),
            metastore_uri: "thrift://bigdata-hive-metastore:9083".into(),
        }
    }

    fn wordcount() -> BatchJob {
        BatchJob::Wordcount {
            input: "/data/in put".into(),
            output: "hdfs://bigdata/out".into(),
            overwrite: true,
        }
    }

    fn container(job: &Job) -> &k8s_openapi::api::core::v1::Container {
        &job.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
    }

    fn env(job: &Job) -> Vec<String> {
        container(job)
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    #[test]
    fn one_pod_is_a_plain_job() {
        let job = render(&wordcount(), &target(1)).unwrap();
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.completion_mode, None);
        assert_eq!(spec.backoff_limit, Some(2));
        assert_eq!(
            container(&job).args.as_ref().unwrap(),
            &[
                "wordcount",
                "--input=/data/in put",
                "--output=hdfs://bigdata/out",
                "--overwrite"
            ]
        );
        assert!(!env(&job).contains(&"BIGDATA_WORDCOUNT_RUN_ID".to_string()));
        assert!(!env(&job).contains(&"BIGDATA_METASTORE_URI".to_string()));
        let labels = job.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app.kubernetes.io/instance"], "bigdata-wordcount-1");
        assert_eq!(labels["app.kubernetes.io/component"], "wordcount");
    }

    #[test]
    fn parallelism_makes_an_indexed_job_whose_pods_share_the_work() {
        let job = render(&wordcount(), &target(4)).unwrap();
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!((spec.completions, spec.parallelism), (Some(4), Some(4)));
        assert_eq!(spec.backoff_limit_per_index, Some(2));
        assert!(
            container(&job)
                .args
                .as_ref()
                .unwrap()
                .contains(&"--shards=4".to_string())
        );
        let run_id = container(&job)
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == "BIGDATA_WORDCOUNT_RUN_ID")
            .unwrap();
        assert_eq!(
            run_id
                .value_from
                .as_ref()
                .unwrap()
                .field_ref
                .as_ref()
                .unwrap()
                .field_path,
            "metadata.labels['batch.kubernetes.io/controller-uid']"
        );
    }

    #[test]
    fn compact_gets_the_metastore_and_every_pod_is_bounded_and_unprivileged() {
        let compact = BatchJob::Compact {
            input: "/landing/bikes".into(),
            table: "demo.bikes".into(),
            kind: "bikes".into(),
        };
        let job = render(&compact, &target(3)).unwrap();
        assert!(env(&job).contains(&"BIGDATA_METASTORE_URI".to_string()));
        assert!(!env(&job).contains(&"BIGDATA_WORDCOUNT_RUN_ID".to_string()));
        assert_eq!(
            container(&job).args.as_ref().unwrap(),
            &[
                "compact",
                "--input=/landing/bikes",
                "--table=demo.bikes",
                "--kind=bikes",
                "--shards=3"
            ]
        );
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        assert_eq!(
            pod.security_context.as_ref().unwrap().run_as_non_root,
            Some(true)
        );
        let resources = container(&job).resources.as_ref().unwrap();
        assert!(resources.limits.as_ref().unwrap().contains_key("memory"));
        assert!(resources.requests.as_ref().unwrap().contains_key("cpu"));
        assert_eq!(
            pod.volumes.as_ref().unwrap()[0]
                .config_map
                .as_ref()
                .unwrap()
                .name,
            "bigdata-hdfs-config"
        );
    }

    #[test]
    fn arguments_are_quoted_not_interpreted() {
        let tricky = BatchJob::Wordcount {
            input: "/a: {b}\n- c".into(),
            output: "/o#x\"y'".into(),
            overwrite: false,
        };
        let job = render(&tricky, &target(1)).unwrap();
        assert_eq!(
            container(&job).args.as_ref().unwrap(),
            &["wordcount", "--input=/a: {b}\n- c", "--output=/o#x\"y'"]
        );
    }
}
