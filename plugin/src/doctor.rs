//! `helm bigdata doctor`: what the cluster offers, gathered once, then judged by pure rules.

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ListParams;
use kube::{Api, Client};
use serde::Serialize;

use std::collections::BTreeMap;

use crate::access::{ApiError, OrExplain, Permission};
use crate::component::Component;
use crate::quantity;
use crate::resources::Requests;

/// The oldest Kubernetes minor version the charts are tested against.
pub const MIN_KUBERNETES_MINOR: u32 = 30;
/// The annotation that marks a StorageClass as the cluster's default.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(
        "failed to reach the Kubernetes API server (is the cluster up and KUBECONFIG right?): {}",
        crate::access::explain(.0)
    )]
    Unreachable(kube::Error),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// What doctor needs to know about a cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterFacts {
    pub server_version: String,
    pub server_minor: u32,
    /// The nodes, or why the user may not list them.
    pub nodes: Result<Vec<NodeFacts>, String>,
    /// The default StorageClasses, or why the user may not list them.
    pub default_storage_classes: Result<Vec<String>, String>,
    /// Whether the cluster serves the Prometheus Operator's PodMonitor kind (the charts then make one
    /// for the metrics they expose), or why discovery could not tell.
    pub pod_monitors: Result<bool, String>,
    /// Whether the cluster serves the metrics API (metrics-server's PodMetrics: `status` then shows the
    /// CPU and memory in use), or why discovery could not tell.
    pub metrics_api: Result<bool, String>,
}

/// The API the charts' PodMonitors use (the Prometheus Operator's CRDs).
pub const POD_MONITOR_API: &str = "monitoring.coreos.com/v1";

/// The metrics API (metrics-server), which `status` reads the pods' usage from.
pub const METRICS_API: &str = "metrics.k8s.io/v1beta1";

#[derive(Debug, Clone, Serialize)]
pub struct NodeFacts {
    pub name: String,
    pub ready: bool,
    /// True for nodes that kwok simulates: pods "run" there but no container does.
    pub simulated: bool,
    pub allocatable_cpu_millis: i64,
    pub allocatable_memory_bytes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

/// Reads the facts from the cluster: server version, nodes, StorageClasses. What the user may not
/// list is a fact too (a namespace's own Role cannot grant cluster-wide reads).
pub async fn gather(client: &Client) -> Result<ClusterFacts, DoctorError> {
    let version = client
        .apiserver_version()
        .await
        .map_err(DoctorError::Unreachable)?;
    let nodes = visible(
        Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .or_explain(|| "list nodes".to_string()),
    )?;
    let classes = visible(
        Api::<StorageClass>::all(client.clone())
            .list(&ListParams::default())
            .await
            .or_explain(|| "list storage classes".to_string()),
    )?;
    let pod_monitors = pod_monitors_served(client).await;
    let metrics_api = kind_served(client, METRICS_API, "PodMetrics").await;
    Ok(ClusterFacts {
        pod_monitors,
        metrics_api,
        server_minor: version.minor.trim_end_matches('+').parse().unwrap_or(0),
        server_version: version.git_version,
        nodes: nodes.map(|list| list.items.iter().map(node_facts).collect()),
        default_storage_classes: classes.map(|list| {
            list.items
                .iter()
                .filter(|c| {
                    c.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                        .is_some_and(|v| v == "true")
                })
                .filter_map(|c| c.metadata.name.clone())
                .collect()
        }),
    })
}

/// Whether discovery lists PodMonitor in monitoring.coreos.com/v1: a group the server does not serve
/// answers 404.
pub async fn pod_monitors_served(client: &Client) -> Result<bool, String> {
    kind_served(client, POD_MONITOR_API, "PodMonitor").await
}

/// Whether discovery lists `kind` in `group_version` (404: the group is not served).
async fn kind_served(client: &Client, group_version: &str, kind: &str) -> Result<bool, String> {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.kind == kind)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(format!(
            "failed to discover {group_version}: {}",
            crate::access::explain(&e)
        )),
    }
}

/// A forbidden read becomes a fact (what the API server refused: the permission rows of the checks
/// say what to ask for); any other failure stays an error.
fn visible<T>(result: Result<T, ApiError>) -> Result<Result<T, String>, ApiError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(ApiError::Forbidden(f)) => Ok(Err(format!("forbidden: {}", f.detail))),
        Err(e) => Err(e),
    }
}

fn node_facts(node: &Node) -> NodeFacts {
    let status = node.status.as_ref();
    let allocatable = |key: &str, parse: fn(&str) -> Result<i64, quantity::QuantityError>| {
        status
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get(key))
            .and_then(|q| parse(&q.0).ok())
            .unwrap_or(0)
    };
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        simulated: crate::cluster::is_simulated(node),
        allocatable_cpu_millis: allocatable("cpu", quantity::parse_millis),
        allocatable_memory_bytes: allocatable("memory", quantity::parse_units),
    }
}

/// Judges the facts. Pure: the same facts always give the same checks.
pub fn evaluate(facts: &ClusterFacts) -> Vec<Check> {
    vec![
        version_check(facts),
        nodes_check(facts),
        storage_check(facts),
        pod_monitors_check(facts),
        metrics_api_check(facts),
    ]
}

/// Informs, never fails: the Prometheus Operator is optional (the pods' scrape annotations work without it).
fn pod_monitors_check(facts: &ClusterFacts) -> Check {
    served_check(
        "prometheus operator",
        &facts.pod_monitors,
        format!(
            "PodMonitor ({POD_MONITOR_API}) served: the charts with metrics.enabled make one each"
        ),
        format!(
            "not installed (no PodMonitor in {POD_MONITOR_API}): metrics.enabled pods are found by their \
             prometheus.io/scrape annotations; no PodMonitors are made"
        ),
    )
}

/// Informs, never fails: without the metrics API, `status` shows the requests without the usage.
fn metrics_api_check(facts: &ClusterFacts) -> Check {
    served_check(
        "metrics api",
        &facts.metrics_api,
        format!(
            "PodMetrics ({METRICS_API}) served: status shows each component's CPU and memory in use"
        ),
        format!(
            "not served (no metrics-server; no {METRICS_API}): status shows the requests, not the usage"
        ),
    )
}

/// An optional API: passes whether served or not, with what each means; a warning when discovery failed.
fn served_check(name: &str, served: &Result<bool, String>, yes: String, no: String) -> Check {
    match served {
        Err(why) => not_checked(name, why),
        Ok(served) => Check {
            name: name.into(),
            status: Status::Pass,
            detail: if *served { yes } else { no },
        },
    }
}

fn version_check(facts: &ClusterFacts) -> Check {
    let ok = facts.server_minor >= MIN_KUBERNETES_MINOR;
    Check {
        name: "kubernetes version".into(),
        status: if ok { Status::Pass } else { Status::Fail },
        detail: if ok {
            format!(
                "{} (1.{MIN_KUBERNETES_MINOR} or newer needed)",
                facts.server_version
            )
        } else {
            format!(
                "{} is too old: upgrade the cluster to 1.{MIN_KUBERNETES_MINOR} or newer",
                facts.server_version
            )
        },
    }
}

/// A check that could not be made because the user may not read what it needs.
fn not_checked(name: &str, why: &str) -> Check {
    Check {
        name: name.to_string(),
        status: Status::Warn,
        detail: format!("not checked: {why}"),
    }
}

fn nodes_check(facts: &ClusterFacts) -> Check {
    let nodes = match &facts.nodes {
        Ok(nodes) => nodes,
        Err(why) => return not_checked("nodes", why),
    };
    let ready: Vec<&NodeFacts> = nodes.iter().filter(|n| n.ready).collect();
    let simulated = ready.iter().filter(|n| n.simulated).count();
    let cpu: i64 = ready.iter().map(|n| n.allocatable_cpu_millis).sum();
    let memory: i64 = ready.iter().map(|n| n.allocatable_memory_bytes).sum();
    let mut detail = format!(
        "{} of {} ready, allocatable {} CPU, {} GiB memory",
        ready.len(),
        nodes.len(),
        cpu as f64 / 1000.0,
        memory / (1 << 30)
    );
    if simulated > 0 {
        detail.push_str(&format!(
            "; {simulated} simulated by kwok (pods there run no containers)"
        ));
    }
    Check {
        name: "nodes".into(),
        status: if ready.is_empty() {
            Status::Fail
        } else {
            Status::Pass
        },
        detail: if ready.is_empty() {
            format!("{detail}: no node is Ready, so no pod can be scheduled")
        } else {
            detail
        },
    }
}

fn storage_check(facts: &ClusterFacts) -> Check {
    let classes = match &facts.default_storage_classes {
        Ok(classes) => classes,
        Err(why) => return not_checked("default storage class", why),
    };
    match classes.as_slice() {
        [one] => Check {
            name: "default storage class".into(),
            status: Status::Pass,
            detail: one.clone(),
        },
        [] => Check {
            name: "default storage class".into(),
            status: Status::Fail,
            detail: format!(
                "none: the PersistentVolumeClaims of MySQL, HDFS and Kafka would stay Pending; \
                 mark one with the annotation {DEFAULT_CLASS_ANNOTATION}=true or set storageClassName in the values"
            ),
        },
        many => Check {
            name: "default storage class".into(),
            status: Status::Warn,
            detail: format!("several ({}): Kubernetes picks the newest", many.join(", ")),
        },
    }
}

/// Whether a profile's requests fit the Ready nodes: every component's largest pod must fit on the
/// largest node, and all requests together in the nodes' total. Components are added in install
/// order, so the first one past the total is the one that will not fit.
pub fn fit(facts: &ClusterFacts, requests: &BTreeMap<Component, Requests>) -> Vec<Check> {
    let nodes = match &facts.nodes {
        Ok(nodes) => nodes,
        Err(why) => return vec![not_checked("fit", why)],
    };
    let ready: Vec<&NodeFacts> = nodes.iter().filter(|n| n.ready).collect();
    let node_cpu = ready
        .iter()
        .map(|n| n.allocatable_cpu_millis)
        .max()
        .unwrap_or(0);
    let node_memory = ready
        .iter()
        .map(|n| n.allocatable_memory_bytes)
        .max()
        .unwrap_or(0);
    let total_cpu: i64 = ready.iter().map(|n| n.allocatable_cpu_millis).sum();
    let total_memory: i64 = ready.iter().map(|n| n.allocatable_memory_bytes).sum();
    let mut checks = Vec::new();
    let (mut cpu, mut memory) = (0, 0);
    for (component, r) in requests {
        cpu += r.cpu_millis;
        memory += r.memory_bytes;
        let problem = if r.largest_pod_cpu_millis > node_cpu
            || r.largest_pod_memory_bytes > node_memory
        {
            Some(format!(
                "a pod requests {} CPU / {} MiB but the largest Ready node has {} CPU / {} MiB: lower {component}'s resources.requests",
                r.largest_pod_cpu_millis as f64 / 1000.0,
                r.largest_pod_memory_bytes >> 20,
                node_cpu as f64 / 1000.0,
                node_memory >> 20
            ))
        } else if cpu > total_cpu || memory > total_memory {
            Some(format!(
                "with it the profile requests {} CPU / {} MiB but the Ready nodes have {} CPU / {} MiB: add nodes or choose a smaller profile (small)",
                cpu as f64 / 1000.0,
                memory >> 20,
                total_cpu as f64 / 1000.0,
                total_memory >> 20
            ))
        } else {
            None
        };
        checks.push(Check {
            name: format!("fit: {component}"),
            status: if problem.is_some() {
                Status::Fail
            } else {
                Status::Pass
            },
            detail: problem.unwrap_or_else(|| format!("fits: {r}")),
        });
    }
    checks
}

/// Whether the user has the permissions the plugin needs: one summary check, then one check per
/// resource with refused verbs (`missing`, out of `needed`), failing in the namespace, warning at the
/// cluster scope (where a permission only makes some checks possible). Pure.
pub fn access(
    namespace: &str,
    who: &str,
    needed: &[Permission],
    missing: &[Permission],
    cluster_missing: &[Permission],
) -> Vec<Check> {
    let count = |ps: &[Permission]| ps.iter().map(|p| p.verbs.len()).sum::<usize>();
    let summary = if missing.is_empty() {
        Check {
            name: "permissions".into(),
            status: Status::Pass,
            detail: format!(
                "{who} has the {} permissions the plugin needs in namespace {namespace:?}",
                count(needed)
            ),
        }
    } else {
        Check {
            name: "permissions".into(),
            status: Status::Fail,
            detail: format!(
                "{who} lacks {} of the {} permissions the plugin needs in namespace {namespace:?} (below): \
                 ask your cluster admin for a Role granting them (see {})",
                count(missing),
                count(needed),
                crate::access::DOCS
            ),
        }
    };
    let rows = missing
        .iter()
        .map(|p| (p, Status::Fail, format!("in namespace {namespace:?}")))
        .chain(cluster_missing.iter().map(|p| {
            (
                p,
                Status::Warn,
                "at the cluster scope, optional".to_string(),
            )
        }))
        .map(|(p, status, scope)| Check {
            name: format!("permission: {}", p.name()),
            status,
            detail: format!(
                "may not {} {scope}: {}",
                p.verbs.join(", "),
                p.why.join("; ")
            ),
        });
    std::iter::once(summary).chain(rows).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(cpu_millis: i64, memory_gib: i64, largest_cpu: i64) -> Requests {
        Requests {
            cpu_millis,
            memory_bytes: memory_gib << 30,
            largest_pod_cpu_millis: largest_cpu,
            largest_pod_memory_bytes: 1 << 30,
            ..Requests::default()
        }
    }

    #[test]
    fn fit_names_the_component_that_does_not_fit() {
        let requests = BTreeMap::from([
            (Component::Mysql, needs(1000, 2, 500)),
            (Component::Hdfs, needs(2000, 8, 1000)),
            (Component::Kafka, needs(1500, 4, 500)),
        ]);
        let checks = fit(&facts(), &requests);
        assert_eq!(checks[0].status, Status::Pass);
        // 1 + 2 + 1.5 = 4.5 CPU > 4: kafka, last in install order, is the one that does not fit
        assert_eq!(checks[1].status, Status::Pass);
        assert_eq!(checks[2].status, Status::Fail);
        assert!(
            checks[2].detail.contains("requests 4.5 CPU"),
            "{}",
            checks[2].detail
        );
    }

    #[test]
    fn fit_fails_a_pod_larger_than_any_node() {
        let requests = BTreeMap::from([(Component::Spark, needs(6000, 2, 6000))]);
        let check = &fit(&facts(), &requests)[0];
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("lower spark's resources.requests"),
            "{}",
            check.detail
        );
    }

    fn facts() -> ClusterFacts {
        ClusterFacts {
            server_version: "v1.35.4".into(),
            server_minor: 35,
            nodes: Ok(vec![NodeFacts {
                name: "n1".into(),
                ready: true,
                simulated: true,
                allocatable_cpu_millis: 4000,
                allocatable_memory_bytes: 16 << 30,
            }]),
            default_storage_classes: Ok(vec!["standard".into()]),
            pod_monitors: Ok(false),
            metrics_api: Ok(false),
        }
    }

    #[test]
    fn the_prometheus_operator_is_reported_present_or_absent_never_failed() {
        let mut f = facts();
        let absent = evaluate(&f).into_iter().nth(3).unwrap();
        assert_eq!(
            (absent.status, absent.name.as_str()),
            (Status::Pass, "prometheus operator")
        );
        assert!(absent.detail.contains("prometheus.io/scrape"), "{absent:?}");
        f.pod_monitors = Ok(true);
        let present = evaluate(&f).into_iter().nth(3).unwrap();
        assert!(present.detail.contains("make one each"), "{present:?}");
    }

    #[test]
    fn the_metrics_api_is_reported_present_or_absent_never_failed() {
        let mut f = facts();
        let absent = evaluate(&f).pop().unwrap();
        assert_eq!(
            (absent.status, absent.name.as_str()),
            (Status::Pass, "metrics api")
        );
        assert!(absent.detail.contains("not the usage"), "{absent:?}");
        f.metrics_api = Ok(true);
        let present = evaluate(&f).pop().unwrap();
        assert!(
            present.detail.contains("CPU and memory in use"),
            "{present:?}"
        );
        f.metrics_api =
            Err("failed to discover metrics.k8s.io/v1beta1: service unavailable".into());
        assert_eq!(evaluate(&f).pop().unwrap().status, Status::Warn);
    }

    #[test]
    fn a_good_cluster_passes_and_says_its_nodes_are_simulated() {
        let checks = evaluate(&facts());
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:?}"
        );
        assert!(checks[1].detail.contains("1 simulated by kwok"));
    }

    #[test]
    fn an_old_cluster_fails_with_the_fix() {
        let mut f = facts();
        f.server_version = "v1.27.3".into();
        f.server_minor = 27;
        let check = &evaluate(&f)[0];
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("upgrade the cluster"));
    }

    #[test]
    fn no_default_storage_class_fails() {
        let mut f = facts();
        f.default_storage_classes = Ok(vec![]);
        assert_eq!(evaluate(&f)[2].status, Status::Fail);
    }

    #[test]
    fn no_ready_node_fails() {
        let mut f = facts();
        f.nodes.as_mut().unwrap()[0].ready = false;
        assert_eq!(evaluate(&f)[1].status, Status::Fail);
    }

    #[test]
    fn hidden_nodes_and_classes_are_warnings_that_say_why() {
        let mut f = facts();
        f.nodes = Err("failed to list nodes: forbidden: ...".into());
        f.default_storage_classes = Err("failed to list storage classes: forbidden: ...".into());
        let checks = evaluate(&f);
        assert_eq!(checks[1].status, Status::Warn);
        assert!(
            checks[1]
                .detail
                .starts_with("not checked: failed to list nodes")
        );
        assert_eq!(checks[2].status, Status::Warn);
        let requests = BTreeMap::from([(Component::Spark, needs(100, 1, 100))]);
        let fit = fit(&f, &requests);
        assert_eq!(fit.len(), 1);
        assert_eq!(fit[0].status, Status::Warn);
    }

    #[test]
    fn missing_permissions_fail_per_resource_and_cluster_ones_warn() {
        let needed = crate::access::needed(&[Component::Kafka]);
        let all = access("data", "user \"jane\"", &needed, &[], &[]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, Status::Pass);
        assert!(
            all[0].detail.contains("in namespace \"data\""),
            "{}",
            all[0].detail
        );

        let secrets = needed.iter().find(|p| p.name() == "secrets").unwrap();
        let missing = vec![Permission {
            verbs: vec!["create", "patch"],
            ..secrets.clone()
        }];
        let nodes = crate::access::cluster_needed();
        let checks = access("data", "user \"jane\"", &needed, &missing, &nodes[..1]);
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0]
                .detail
                .starts_with("user \"jane\" lacks 2 of the "),
            "{}",
            checks[0].detail
        );
        assert!(checks[0].detail.contains("docs/plugin.md#permissions"));
        assert_eq!(checks[1].name, "permission: secrets");
        assert_eq!(checks[1].status, Status::Fail);
        assert_eq!(
            checks[1].detail,
            "may not create, patch in namespace \"data\": helm keeps each release in a Secret"
        );
        assert_eq!(checks[2].name, "permission: nodes");
        assert_eq!(checks[2].status, Status::Warn);
    }
}
