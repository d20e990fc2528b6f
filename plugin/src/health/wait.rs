//! Waiting for a release's workloads to be ready, with watches (never sleep loops), and explaining
//! per pod why when they are not.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ListParams, LogParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};
use serde::Serialize;

use super::reason::{Reason, diagnose};
use crate::access::{ApiError, OrExplain};

/// The label every chart puts on its objects: the Helm release that owns them.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// How many log lines of a crashing container to show.
const LOG_TAIL_LINES: i64 = 5;

/// A request of the wait to the API server failed (a 403 says what permission to ask for).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct WaitError(#[from] pub ApiError);

/// What kind of workload, and so what "ready" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    Job,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub name: String,
}

/// A pod that is not ready, and why.
#[derive(Debug, Clone, Serialize)]
pub struct PodProblem {
    pub pod: String,
    pub reason: Reason,
    /// The last log lines of the failing container, when the cluster has them.
    pub log_tail: Vec<String>,
}

/// The outcome of waiting for one release.
#[derive(Debug, Clone, Serialize)]
pub enum Readiness {
    Ready,
    /// Not ready in time, or a Job failed: the pods that are not ready and why.
    NotReady {
        waited: Duration,
        problems: Vec<PodProblem>,
    },
}

/// The Deployments, StatefulSets and Jobs of `release` in `namespace` (Helm hook Jobs are included
/// only while they exist).
pub async fn workloads(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<Vec<Workload>, WaitError> {
    let params = ListParams::default().labels(&format!("{INSTANCE_LABEL}={release}"));
    let action = |kind: &'static str| {
        move || format!("list the {kind} of release {release} in namespace {namespace:?}")
    };
    let mut found = Vec::new();
    for d in Api::<Deployment>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .or_explain(action("deployments"))?
    {
        found.push(Workload {
            kind: WorkloadKind::Deployment,
            name: d.metadata.name.unwrap_or_default(),
        });
    }
    for s in Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .or_explain(action("statefulsets"))?
    {
        found.push(Workload {
            kind: WorkloadKind::StatefulSet,
            name: s.metadata.name.unwrap_or_default(),
        });
    }
    for j in Api::<Job>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .or_explain(action("jobs"))?
    {
        found.push(Workload {
            kind: WorkloadKind::Job,
            name: j.metadata.name.unwrap_or_default(),
        });
    }
    Ok(found)
}

/// Waits until every workload of `release` is ready (Jobs: complete), at most `timeout`.
pub async fn wait_ready(
    client: &Client,
    namespace: &str,
    release: &str,
    timeout: Duration,
) -> Result<Readiness, WaitError> {
    let started = tokio::time::Instant::now();
    let workloads = workloads(client, namespace, release).await?;
    let mut waits: FuturesUnordered<_> = workloads
        .iter()
        .map(|w| wait_one(client, namespace, w))
        .collect();
    // All ready, or stop at the first that cannot become ready (a failed Job): the others may wait on it.
    let all_ready = async {
        while let Some(ready) = waits.next().await {
            if !ready? {
                return Ok(false);
            }
        }
        Ok(true)
    };
    match tokio::time::timeout(timeout, all_ready).await {
        Ok(Ok(true)) => Ok(Readiness::Ready),
        Ok(Err(error)) => Err(error),
        // A Job failed, or the time is up: find out why.
        Ok(Ok(false)) | Err(_) => Ok(Readiness::NotReady {
            waited: started.elapsed(),
            problems: problems(client, namespace, release).await?,
        }),
    }
}

/// Waits for one workload; false when it can no longer become ready (a failed Job).
async fn wait_one(
    client: &Client,
    namespace: &str,
    workload: &Workload,
) -> Result<bool, WaitError> {
    let name = workload.name.as_str();
    let action =
        |kind: &'static str| move || format!("watch {kind} {name} in namespace {namespace:?}");
    match workload.kind {
        WorkloadKind::Deployment => {
            let api = Api::<Deployment>::namespaced(client.clone(), namespace);
            await_condition(api, name, deployment_ready)
                .await
                .or_explain(action("deployment"))?;
            Ok(true)
        }
        WorkloadKind::StatefulSet => {
            let api = Api::<StatefulSet>::namespaced(client.clone(), namespace);
            await_condition(api, name, statefulset_ready)
                .await
                .or_explain(action("statefulset"))?;
            Ok(true)
        }
        WorkloadKind::Job => {
            let api = Api::<Job>::namespaced(client.clone(), namespace);
            let job = await_condition(api, name, job_finished)
                .await
                .or_explain(action("job"))?;
            // A Job deleted while we waited (a hook with a delete policy) has done its work.
            Ok(job.is_none_or(|j| job_condition(&j, "Complete")))
        }
    }
}

/// Ready: the controller saw the latest spec and every replica is updated and ready.
pub fn deployment_ready(d: Option<&Deployment>) -> bool {
    let Some(d) = d else { return false };
    let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation >= d.metadata.generation
        && s.updated_replicas.unwrap_or(0) >= wanted
        && s.ready_replicas.unwrap_or(0) >= wanted
        && s.replicas.unwrap_or(0) == wanted
}

pub fn statefulset_ready(s: Option<&StatefulSet>) -> bool {
    let Some(s) = s else { return false };
    let wanted = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = s.status.as_ref() else {
        return false;
    };
    status.observed_generation >= s.metadata.generation
        && status.ready_replicas.unwrap_or(0) >= wanted
        && status.updated_replicas.unwrap_or(0) >= wanted
}

fn job_finished(j: Option<&Job>) -> bool {
    j.is_none_or(|j| job_condition(j, "Complete") || job_condition(j, "Failed"))
}

/// Whether the Job has condition `kind` (Complete, Failed, ...) with status True.
pub fn job_condition(job: &Job, kind: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

/// Every failed Job of the release (its pods may be gone), then every pod that is not ready, with its
/// reason, events and log tail.
pub async fn problems(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<Vec<PodProblem>, WaitError> {
    let mut found = failed_jobs(client, namespace, release).await?;
    found.extend(pod_problems(client, namespace, release).await?);
    Ok(found)
}

/// The failed Jobs of the release, as problems.
pub async fn failed_jobs(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<Vec<PodProblem>, WaitError> {
    let jobs = Api::<Job>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&format!("{INSTANCE_LABEL}={release}")))
        .await
        .or_explain(|| format!("list the jobs of release {release} in namespace {namespace:?}"))?;
    Ok(jobs
        .into_iter()
        .filter_map(|job| {
            let message = job_failure(&job)?;
            let name = job.metadata.name.unwrap_or_default();
            Some(PodProblem {
                pod: name.clone(),
                reason: Reason::JobFailed { job: name, message },
                log_tail: Vec::new(),
            })
        })
        .collect())
}

/// The Failed condition's reason and message, when the Job has failed.
pub fn job_failure(job: &Job) -> Option<String> {
    let condition = job
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Failed" && c.status == "True")?;
    let reason = condition.reason.clone().unwrap_or_default();
    Some(match condition.message.as_deref() {
        Some(m) if !m.is_empty() => format!("{reason}: {m}"),
        _ => reason,
    })
}

async fn pod_problems(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<Vec<PodProblem>, WaitError> {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    let listed = pods
        .list(&ListParams::default().labels(&format!("{INSTANCE_LABEL}={release}")))
        .await
        .or_explain(|| format!("list the pods of release {release} in namespace {namespace:?}"))?;
    let events = Api::<Event>::namespaced(client.clone(), namespace);
    let mut found = Vec::new();
    for pod in listed {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pod_events = events
            .list(&ListParams::default().fields(&format!(
                "involvedObject.kind=Pod,involvedObject.name={name}"
            )))
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        if let Some(reason) = diagnose(&pod, &pod_events) {
            let log_tail = match &reason {
                Reason::CrashLoop { container, .. } => {
                    log_tail(&pods, &name, container, true).await
                }
                Reason::Exited { container, .. } | Reason::Initializing { container } => {
                    log_tail(&pods, &name, container, false).await
                }
                Reason::Failed { .. } | Reason::NotReady { .. } => {
                    log_tail(&pods, &name, "", false).await
                }
                _ => Vec::new(),
            };
            found.push(PodProblem {
                pod: name,
                reason,
                log_tail,
            });
        }
    }
    Ok(found)
}

/// The last lines of a container's log (of its previous run when it crashed); empty when the cluster
/// has no log (simulated nodes) or the container never ran.
async fn log_tail(pods: &Api<Pod>, pod: &str, container: &str, previous: bool) -> Vec<String> {
    let params = LogParams {
        container: (!container.is_empty()).then(|| container.to_string()),
        previous,
        tail_lines: Some(LOG_TAIL_LINES),
        ..LogParams::default()
    };
    match pods.logs(pod, &params).await {
        Ok(text) => text.lines().map(String::from).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(
            json!({"metadata": {"name": "schema"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn a_failed_job_gives_its_conditions_reason_and_message() {
        let failed = job(
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit"}]),
        );
        assert_eq!(
            job_failure(&failed).as_deref(),
            Some("BackoffLimitExceeded: Job has reached the specified backoff limit")
        );
        let complete = job(json!([{"type": "Complete", "status": "True"}]));
        assert_eq!(job_failure(&complete), None);
    }
}
