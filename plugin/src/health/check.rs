//! Each component's own check, run after its workloads are Ready: the component answers, not just its
//! pods. Checks run a command inside the component's pod (exec), or ask the API server (RBAC).
//! On a simulated node (kwok) no container runs, so an exec check cannot run: it is reported as
//! skipped, never as passed.

use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, ResourceAttributes, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::access::OrExplain;
use crate::component::Component;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CheckResult {
    Passed {
        detail: String,
    },
    Failed {
        detail: String,
    },
    /// Could not run here (a simulated node); says why.
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentCheck {
    pub name: String,
    /// Flattened: `{"name": ..., "result": "passed", "detail": ...}`.
    #[serde(flatten)]
    pub result: CheckResult,
}

/// A command run in a pod, and what its output must show.
struct ExecCheck {
    name: &'static str,
    pod: String,
    container: &'static str,
    command: Vec<String>,
    /// Judges stdout (the command exited 0).
    judge: fn(&str) -> Result<String, String>,
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// The exec checks of `component` of platform `platform`. Pure.
fn exec_checks(platform: &str, component: Component) -> Vec<ExecCheck> {
    match component {
        Component::Mysql => vec![ExecCheck {
            name: "accepts a query",
            pod: format!("{platform}-mysql-0"),
            container: "mysql",
            command: sh(
                r#"MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -h127.0.0.1 -uroot -N -e 'SELECT 1'"#,
            ),
            judge: |out| {
                (out.trim() == "1")
                    .then(|| "SELECT 1 returned 1".to_string())
                    .ok_or_else(|| format!("SELECT 1 returned {out:?}"))
            },
        }],
        Component::Hdfs => vec![ExecCheck {
            name: "NameNode out of safe mode",
            pod: format!("{platform}-hdfs-namenode-0"),
            container: "namenode",
            command: sh("hdfs dfsadmin -safemode get"),
            judge: |out| {
                if out.contains("Safe mode is OFF") {
                    Ok(out.trim().to_string())
                } else {
                    Err(format!(
                        "the NameNode is still in safe mode: {}",
                        out.trim()
                    ))
                }
            },
        }],
        Component::HiveMetastore | Component::Spark | Component::Monitoring => vec![],
        Component::Kafka => vec![ExecCheck {
            name: "brokers registered",
            pod: format!("{platform}-kafka-broker-0"),
            container: "kafka",
            command: sh(
                "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 | grep -c '(id: '",
            ),
            judge: |out| match out.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(format!("{n} brokers answer")),
                _ => Err(format!("no broker answered: {out:?}")),
            },
        }],
    }
}

/// Runs the checks of `component`.
pub async fn run(
    client: &Client,
    namespace: &str,
    platform: &str,
    component: Component,
) -> Vec<ComponentCheck> {
    let mut results = Vec::new();
    for check in exec_checks(platform, component) {
        let result = run_exec(client, namespace, &check).await;
        results.push(ComponentCheck {
            name: check.name.to_string(),
            result,
        });
    }
    if component == Component::Spark {
        let result = spark_can_create_driver_pods(client, namespace, platform).await;
        results.push(ComponentCheck {
            name: "service account may create driver pods".into(),
            result,
        });
    }
    results
}

async fn run_exec(client: &Client, namespace: &str, check: &ExecCheck) -> CheckResult {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = match pods
        .get(&check.pod)
        .await
        .or_explain(|| format!("read pod {} in namespace {namespace:?}", check.pod))
    {
        Ok(pod) => pod,
        Err(e) => {
            return CheckResult::Failed {
                detail: e.to_string(),
            };
        }
    };
    // Whether the pod's node is simulated; unknown when the user may not read nodes (a namespace's
    // own Role cannot grant it).
    let unknown_node = match crate::cluster::simulated_node_of(client, &pod).await {
        Ok(Some(node)) => {
            return CheckResult::Skipped {
                reason: format!(
                    "pod {} is on simulated node {node}: no container runs there",
                    check.pod
                ),
            };
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            pod.spec.as_ref().and_then(|s| s.node_name.clone())
        }
        Ok(None) | Err(_) => None,
    };
    match exec(&pods, check).await {
        Ok(stdout) => match (check.judge)(&stdout) {
            Ok(detail) => CheckResult::Passed { detail },
            Err(detail) => CheckResult::Failed { detail },
        },
        Err(ExecFailure::CommandFailed(detail)) => CheckResult::Failed { detail },
        Err(ExecFailure::NotRun(why)) => match unknown_node {
            // Most likely a simulated node, but that cannot be known: the check did not run.
            Some(node) => CheckResult::Skipped {
                reason: format!(
                    "pod {} is on node {node}, which may be simulated (the user may not get nodes): \
                     the command could not run there ({})",
                    check.pod,
                    why.rsplit(": ").next().unwrap_or_default().trim()
                ),
            },
            None => CheckResult::Failed {
                detail: format!(
                    "`{}` could not run in pod {}: {why}",
                    check.command.join(" "),
                    check.pod
                ),
            },
        },
    }
}

/// Why an exec check has no output to judge.
enum ExecFailure {
    /// The command could not be run (no exec into the pod): why.
    NotRun(String),
    /// The command ran and exited non-zero.
    CommandFailed(String),
}

/// Runs the check's command in its pod; its stdout when it exits 0.
async fn exec(pods: &Api<Pod>, check: &ExecCheck) -> Result<String, ExecFailure> {
    let params = AttachParams::default()
        .container(check.container)
        .stdout(true)
        .stderr(true);
    let mut process = pods
        .exec(&check.pod, check.command.clone(), &params)
        .await
        .map_err(|e| ExecFailure::NotRun(crate::access::ApiError::new("exec", &e).to_string()))?;
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = process.stdout() {
        let _ = out.read_to_string(&mut stdout).await;
    }
    if let Some(mut err) = process.stderr() {
        let _ = err.read_to_string(&mut stderr).await;
    }
    let status = match process.take_status() {
        Some(status) => status.await,
        None => None,
    };
    if status.as_ref().and_then(|s| s.status.as_deref()) == Some("Success") {
        return Ok(stdout);
    }
    let exited = status.as_ref().and_then(|s| s.reason.as_deref()) == Some("NonZeroExitCode");
    let why = status.and_then(|s| s.message).unwrap_or_default();
    if !exited {
        return Err(ExecFailure::NotRun(why));
    }
    let last = stderr.lines().last().unwrap_or_default();
    Err(ExecFailure::CommandFailed(format!(
        "`{}` failed in pod {}: {why} {last}",
        check.command.join(" "),
        check.pod
    )))
}

/// Asks the API server (its real RBAC) whether Spark's ServiceAccount may create driver pods. A
/// LocalSubjectAccessReview, so that a namespace's own Role (e.g. the built-in `admin`) may ask.
async fn spark_can_create_driver_pods(
    client: &Client,
    namespace: &str,
    platform: &str,
) -> CheckResult {
    let account = format!("system:serviceaccount:{namespace}:{platform}-spark");
    let review = LocalSubjectAccessReview {
        metadata: kube::api::ObjectMeta {
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        spec: SubjectAccessReviewSpec {
            user: Some(account.clone()),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_string()),
                verb: Some("create".into()),
                resource: Some("pods".into()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..LocalSubjectAccessReview::default()
    };
    let answer = Api::<LocalSubjectAccessReview>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &review)
        .await
        .or_explain(|| format!("ask the API server whether {account} may create pods"));
    match answer {
        Ok(answer) if answer.status.as_ref().is_some_and(|s| s.allowed) => CheckResult::Passed {
            detail: format!("{account} may create pods in {namespace}"),
        },
        Ok(answer) => CheckResult::Failed {
            detail: format!(
                "{account} may not create pods in {namespace}: {}",
                answer.status.and_then(|s| s.reason).unwrap_or_default()
            ),
        },
        // The user may not ask: the check could not run, which is not a failure of Spark.
        Err(e) if e.is_forbidden() => CheckResult::Skipped {
            reason: e.to_string(),
        },
        Err(e) => CheckResult::Failed {
            detail: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_target_the_components_pods_and_judge_their_output() {
        let mysql = &exec_checks("lake", Component::Mysql)[0];
        assert_eq!(mysql.pod, "lake-mysql-0");
        assert!((mysql.judge)("1\n").is_ok());
        assert!((mysql.judge)("ERROR 1045").is_err());
        let hdfs = &exec_checks("lake", Component::Hdfs)[0];
        assert!((hdfs.judge)("Safe mode is OFF\n").is_ok());
        assert!(
            (hdfs.judge)("Safe mode is ON\n")
                .unwrap_err()
                .contains("still in safe mode")
        );
        let kafka = &exec_checks("lake", Component::Kafka)[0];
        assert_eq!((kafka.judge)("3\n"), Ok("3 brokers answer".to_string()));
        assert!((kafka.judge)("0\n").is_err());
    }
}
