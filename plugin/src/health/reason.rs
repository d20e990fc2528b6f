//! Why a pod is not ready, in words a user can act on. Pure: built from the pod and its events.

use std::fmt;

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use serde::Serialize;

/// One reason a pod is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The scheduler found no node; `message` is the scheduler's own (e.g. "0/4 nodes are available: 4 Insufficient cpu").
    Unschedulable { message: String },
    /// A PersistentVolumeClaim the pod mounts is not bound.
    ClaimPending { claim: String, message: String },
    /// The image cannot be pulled.
    ImagePull {
        container: String,
        image: String,
        message: String,
    },
    /// The container keeps crashing.
    CrashLoop {
        container: String,
        restarts: i32,
        exit_code: Option<i32>,
        message: String,
    },
    /// The container is waiting for another reason (ContainerCreating, CreateContainerConfigError, ...).
    Waiting {
        container: String,
        reason: String,
        message: String,
    },
    /// The container exited with an error and is about to be restarted (e.g. an init container in `Init:Error`).
    Exited {
        container: String,
        restarts: i32,
        exit_code: i32,
        message: String,
    },
    /// An init container is still running: the pod's containers have not started yet.
    Initializing { container: String },
    /// The container runs but its readiness probe fails.
    NotReady { container: String, message: String },
    /// The pod failed (phase Failed).
    Failed { message: String },
    /// A Job of the release failed (its pods may be gone): the Failed condition's reason and message.
    JobFailed { job: String, message: String },
    /// The pod is Pending with no more specific cause yet.
    Pending,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unschedulable { message } => write!(f, "cannot be scheduled: {message}"),
            Reason::ClaimPending { claim, message } => {
                write!(f, "PersistentVolumeClaim {claim} is not bound")?;
                detail(f, message)
            }
            Reason::ImagePull {
                container,
                image,
                message,
            } => {
                write!(
                    f,
                    "container {container} cannot pull image {image}: {message}"
                )
            }
            Reason::CrashLoop {
                container,
                restarts,
                exit_code,
                message,
            } => {
                write!(
                    f,
                    "container {container} is crash-looping ({restarts} restarts"
                )?;
                if let Some(code) = exit_code {
                    write!(f, ", last exit code {code}")?;
                }
                write!(f, "): {message}")
            }
            Reason::Waiting {
                container,
                reason,
                message,
            } => {
                write!(f, "container {container} is waiting: {reason}")?;
                detail(f, message)
            }
            Reason::Exited {
                container,
                restarts,
                exit_code,
                message,
            } => {
                write!(
                    f,
                    "container {container} exited with code {exit_code} ({restarts} restarts)"
                )?;
                detail(f, message)
            }
            Reason::Initializing { container } => write!(
                f,
                "init container {container} is still running: the pod's containers wait for it"
            ),
            Reason::NotReady { container, message } => {
                write!(f, "container {container} runs but is not ready")?;
                detail(f, message)
            }
            Reason::Failed { message } => write!(f, "the pod failed: {message}"),
            Reason::JobFailed { job, message } => write!(f, "job {job} failed: {message}"),
            Reason::Pending => write!(f, "the pod is pending"),
        }
    }
}

/// `: message`, when there is one.
fn detail(f: &mut fmt::Formatter<'_>, message: &str) -> fmt::Result {
    if message.is_empty() {
        Ok(())
    } else {
        write!(f, ": {message}")
    }
}

/// The reason `pod` is not ready, or None if it is ready or has succeeded.
/// `events` are the events whose involvedObject is this pod, oldest first.
pub fn diagnose(pod: &Pod, events: &[Event]) -> Option<Reason> {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    if phase == "Succeeded" || is_ready(pod) {
        return None;
    }
    if phase == "Failed" {
        let message = status
            .and_then(|s| s.message.clone())
            .or_else(|| terminated_message(status?.container_statuses.as_deref()?))
            .unwrap_or_default();
        return Some(Reason::Failed { message });
    }
    if let Some(reason) = status
        .and_then(|s| s.container_statuses.as_deref())
        .into_iter()
        .flatten()
        .chain(
            status
                .and_then(|s| s.init_container_statuses.as_deref())
                .into_iter()
                .flatten(),
        )
        .find_map(container_reason)
    {
        return Some(reason);
    }
    if let Some(message) = unschedulable(pod, events) {
        return Some(match claim_in(&message, pod) {
            Some(claim) => Reason::ClaimPending { claim, message },
            None => Reason::Unschedulable { message },
        });
    }
    if let Some(container) = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .into_iter()
        .flatten()
        .find(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
    {
        return Some(Reason::Initializing {
            container: container.name.clone(),
        });
    }
    if phase == "Running" {
        let container = status
            .and_then(|s| s.container_statuses.as_deref())
            .and_then(|cs| cs.iter().find(|c| !c.ready))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let message = last_event(events, "Unhealthy").unwrap_or_default();
        return Some(Reason::NotReady { container, message });
    }
    Some(Reason::Pending)
}

/// True when the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn container_reason(c: &ContainerStatus) -> Option<Reason> {
    let state = c.state.as_ref()?;
    if let Some(t) = state.terminated.as_ref().filter(|t| t.exit_code != 0) {
        return Some(Reason::Exited {
            container: c.name.clone(),
            restarts: c.restart_count,
            exit_code: t.exit_code,
            message: t
                .message
                .clone()
                .or_else(|| t.reason.clone())
                .unwrap_or_default(),
        });
    }
    let waiting = state.waiting.as_ref()?;
    let reason = waiting.reason.clone().unwrap_or_default();
    let message = waiting.message.clone().unwrap_or_default();
    Some(match reason.as_str() {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
            Reason::ImagePull {
                container: c.name.clone(),
                image: c.image.clone(),
                message: if message.is_empty() { reason } else { message },
            }
        }
        "CrashLoopBackOff" => Reason::CrashLoop {
            container: c.name.clone(),
            restarts: c.restart_count,
            exit_code: c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| t.exit_code),
            message,
        },
        // Normal while a container starts: not a reason by itself.
        "ContainerCreating" | "PodInitializing" | "" => return None,
        _ => Reason::Waiting {
            container: c.name.clone(),
            reason,
            message,
        },
    })
}

fn terminated_message(statuses: &[ContainerStatus]) -> Option<String> {
    statuses.iter().find_map(|c| {
        let t = c.state.as_ref()?.terminated.as_ref()?;
        Some(format!(
            "container {} exited with code {}{}",
            c.name,
            t.exit_code,
            t.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ))
    })
}

/// The scheduler's message when the pod is unschedulable: from the PodScheduled condition, else the
/// last FailedScheduling event.
fn unschedulable(pod: &Pod, events: &[Event]) -> Option<String> {
    let condition = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
    condition
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| last_event(events, "FailedScheduling"))
        .or_else(|| condition.reason.clone())
}

/// The claim named in a scheduler message such as `pod has unbound immediate PersistentVolumeClaims`.
fn claim_in(message: &str, pod: &Pod) -> Option<String> {
    if !message.contains("PersistentVolumeClaim") {
        return None;
    }
    pod.spec.as_ref()?.volumes.as_ref()?.iter().find_map(|v| {
        v.persistent_volume_claim
            .as_ref()
            .map(|c| c.claim_name.clone())
    })
}

fn last_event(events: &[Event], reason: &str) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| e.reason.as_deref() == Some(reason))
        .and_then(|e| e.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "main", "image": "apache/kafka:4.1.1"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-p-0"}}]},
            "status": status
        }))
        .unwrap()
    }

    fn event(reason: &str, message: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": "e"}, "involvedObject": {}, "reason": reason, "message": message
        }))
        .unwrap()
    }

    #[test]
    fn a_ready_or_finished_pod_has_no_reason() {
        let ready =
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(diagnose(&ready, &[]), None);
        assert_eq!(diagnose(&pod(json!({"phase": "Succeeded"})), &[]), None);
    }

    #[test]
    fn unschedulable_carries_the_schedulers_message() {
        let p = pod(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/4 nodes are available: 4 Insufficient memory."}]}),
        );
        let reason = diagnose(&p, &[]).unwrap();
        assert_eq!(
            reason.to_string(),
            "cannot be scheduled: 0/4 nodes are available: 4 Insufficient memory."
        );
    }

    #[test]
    fn an_unbound_claim_is_named() {
        let p = pod(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable"}]}),
        );
        let events = [event(
            "FailedScheduling",
            "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
        )];
        let reason = diagnose(&p, &events).unwrap();
        assert!(
            matches!(&reason, Reason::ClaimPending { claim, .. } if claim == "data-p-0"),
            "{reason:?}"
        );
    }

    #[test]
    fn image_pull_and_crash_loop_name_the_container() {
        let pull = pod(
            json!({"phase": "Pending", "containerStatuses": [{"name": "main", "image": "apache/kafka:4.1.1",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}),
        );
        assert_eq!(
            diagnose(&pull, &[]).unwrap().to_string(),
            "container main cannot pull image apache/kafka:4.1.1: Back-off pulling image"
        );
        let crash = pod(
            json!({"phase": "Running", "containerStatuses": [{"name": "main", "image": "x",
            "imageID": "", "ready": false, "restartCount": 4,
            "lastState": {"terminated": {"exitCode": 1}},
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]}),
        );
        assert_eq!(
            diagnose(&crash, &[]).unwrap().to_string(),
            "container main is crash-looping (4 restarts, last exit code 1): back-off 40s"
        );
    }

    #[test]
    fn an_init_container_that_failed_or_still_runs_is_named() {
        let failed = pod(
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "fetch-jdbc-driver",
            "image": "apache/hive:4.0.1", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
        );
        let reason = diagnose(&failed, &[]).unwrap();
        assert_eq!(
            reason.to_string(),
            "container fetch-jdbc-driver exited with code 1 (3 restarts): Error"
        );
        let running = pod(
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "wait-for-schema",
            "image": "apache/hive:4.0.1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {}}}]}),
        );
        assert_eq!(
            diagnose(&running, &[]),
            Some(Reason::Initializing {
                container: "wait-for-schema".into()
            })
        );
    }

    #[test]
    fn a_running_pod_that_is_not_ready_reports_its_probe() {
        let p = pod(
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "main", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {}}}]}),
        );
        let events = [event(
            "Unhealthy",
            "Readiness probe failed: dial tcp 10.0.0.1:9092: connect: connection refused",
        )];
        assert_eq!(
            diagnose(&p, &events).unwrap().to_string(),
            "container main runs but is not ready: Readiness probe failed: dial tcp 10.0.0.1:9092: connect: connection refused"
        );
    }

    #[test]
    fn a_failed_pod_says_how_its_container_exited() {
        let p = pod(
            json!({"phase": "Failed", "containerStatuses": [{"name": "main", "image": "x", "imageID": "",
            "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 3, "message": "schema init failed"}}}]}),
        );
        assert_eq!(
            diagnose(&p, &[]).unwrap().to_string(),
            "the pod failed: container main exited with code 3: schema init failed"
        );
    }
}
