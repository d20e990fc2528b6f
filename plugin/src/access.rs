//! What the plugin may do in the cluster: the permissions it needs (asked of the API server with
//! SelfSubjectAccessReviews), and one clear message when the API server, or helm, answers 403
//! Forbidden (docs/plugin.md#permissions).

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};
use serde::Serialize;

use crate::component::Component;

/// Where the permissions are documented.
pub const DOCS: &str = "docs/plugin.md#permissions";

/// What helm does to the objects of a release (Helm 4 applies server-side: patch; Helm 3 creates and
/// patches; `uninstall --wait` watches), and the plugin reads and watches.
const MANAGE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
/// What the spark chart's Role grants Spark (Spark 4 applies the driver's objects server-side: patch):
/// Kubernetes lets a user grant only what it holds itself.
const SPARK_GRANTS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "patch",
    "delete",
    "deletecollection",
];
/// How many access reviews are asked at the same time.
const CONCURRENT_REVIEWS: usize = 8;

/// A permission the plugin needs: some verbs on one resource (`pods`, or a subresource `pods/log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Need {
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    why: &'static str,
}

const fn need(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    why: &'static str,
) -> Need {
    Need {
        group,
        resource,
        verbs,
        why,
    }
}

const CHARTS_CREATE: &str = "the charts create them";

/// What every install needs in its namespace.
const COMMON: &[Need] = &[
    need("", "secrets", MANAGE, "helm keeps each release in a Secret"),
    need("", "configmaps", MANAGE, CHARTS_CREATE),
    need("", "services", MANAGE, CHARTS_CREATE),
    need(
        "apps",
        "statefulsets",
        MANAGE,
        "the charts create them and the plugin watches them until ready",
    ),
    need(
        "apps",
        "deployments",
        MANAGE,
        "the charts create them and the plugin watches them until ready",
    ),
    need(
        "batch",
        "jobs",
        MANAGE,
        "chart hooks and `verify` run Jobs and the plugin watches them",
    ),
    need("policy", "poddisruptionbudgets", MANAGE, CHARTS_CREATE),
    need(
        "networking.k8s.io",
        "networkpolicies",
        MANAGE,
        CHARTS_CREATE,
    ),
    need(
        "",
        "pods",
        &["get", "list", "watch"],
        "to say why a pod is not ready",
    ),
    need(
        "",
        "pods/log",
        &["get"],
        "the last log lines of a crashing container",
    ),
    need(
        "",
        "pods/exec",
        &["get", "create"],
        "the components' own checks run a command in their pod, over a websocket: get and create",
    ),
    need("", "events", &["list"], "to say why a pod is not ready"),
];

/// What the spark chart needs besides: its ServiceAccount, Role and RoleBinding, and what the Role
/// grants.
const SPARK: &[Need] = &[
    need("", "serviceaccounts", MANAGE, "the spark chart creates one"),
    need(
        "rbac.authorization.k8s.io",
        "roles",
        MANAGE,
        "the spark chart creates a Role for Spark's driver",
    ),
    need(
        "rbac.authorization.k8s.io",
        "rolebindings",
        MANAGE,
        "the spark chart binds its Role",
    ),
    need(
        "",
        "pods",
        SPARK_GRANTS,
        "the spark chart's Role grants them, and one can grant only what one holds",
    ),
    need(
        "",
        "services",
        SPARK_GRANTS,
        "the spark chart's Role grants them, and one can grant only what one holds",
    ),
    need(
        "",
        "configmaps",
        SPARK_GRANTS,
        "the spark chart's Role grants them, and one can grant only what one holds",
    ),
    need(
        "",
        "persistentvolumeclaims",
        SPARK_GRANTS,
        "the spark chart's Role grants them, and one can grant only what one holds",
    ),
    need(
        "authorization.k8s.io",
        "localsubjectaccessreviews",
        &["create"],
        "the spark check asks whether Spark may create its driver pods",
    ),
];

/// What the monitoring chart needs besides: Prometheus's ServiceAccount, and the Role (read the pods, to
/// find the targets) and RoleBinding it is given.
const MONITORING: &[Need] = &[
    need(
        "",
        "serviceaccounts",
        MANAGE,
        "the monitoring chart creates one for Prometheus",
    ),
    need(
        "rbac.authorization.k8s.io",
        "roles",
        MANAGE,
        "the monitoring chart creates a Role for Prometheus",
    ),
    need(
        "rbac.authorization.k8s.io",
        "rolebindings",
        MANAGE,
        "the monitoring chart binds its Role",
    ),
    need(
        "",
        "persistentvolumeclaims",
        &["get", "list", "watch", "create", "patch", "delete"],
        "the monitoring chart creates one when prometheus.persistence.enabled",
    ),
];

/// What the monitoring chart needs, cluster-wide, with `kubelet.enabled`: its ClusterRole and binding, and
/// what that ClusterRole grants Prometheus (one can grant only what one holds).
const KUBELET_METRICS: &[Need] = &[
    need(
        "rbac.authorization.k8s.io",
        "clusterroles",
        MANAGE,
        "the monitoring chart's kubelet.enabled creates a ClusterRole for Prometheus",
    ),
    need(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        MANAGE,
        "the monitoring chart's kubelet.enabled binds its ClusterRole",
    ),
    need(
        "",
        "nodes",
        &["get", "list", "watch"],
        "the monitoring chart's ClusterRole grants them (Prometheus finds the kubelets)",
    ),
    need(
        "",
        "nodes/metrics",
        &["get"],
        "the monitoring chart's ClusterRole grants it (Prometheus reads the kubelets' cAdvisor)",
    ),
];

/// What an install needs when a chart makes a PodMonitor (its metrics on, on a cluster that serves the kind).
const POD_MONITORS: &[Need] = &[need(
    "monitoring.coreos.com",
    "podmonitors",
    MANAGE,
    "the charts with metrics.enabled make a PodMonitor each, as the cluster serves the kind",
)];

/// What only some commands need, outside the namespace: without it they still work, with less.
const CLUSTER: &[Need] = &[
    need(
        "",
        "nodes",
        &["get", "list"],
        "to tell simulated (kwok) nodes apart, and doctor's nodes check",
    ),
    need(
        "storage.k8s.io",
        "storageclasses",
        &["list"],
        "doctor's storage class check",
    ),
    need(
        "",
        "namespaces",
        &["create"],
        "install creates the namespace when it does not exist; without it, have the namespace created for you",
    ),
];

/// What the plugin needs to do to one resource, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permission {
    pub group: &'static str,
    /// `pods`, or a subresource such as `pods/log`.
    pub resource: &'static str,
    pub verbs: Vec<&'static str>,
    pub why: Vec<&'static str>,
}

impl Permission {
    /// `deployments.apps`, `pods/log`: the resource as kubectl and RBAC rules name it.
    pub fn name(&self) -> String {
        qualified(self.resource, self.group)
    }

    fn why_text(&self) -> String {
        self.why.join("; ")
    }
}

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// The permissions an install of `components` needs in its namespace, one per resource. Pure.
pub fn needed(components: &[Component]) -> Vec<Permission> {
    let mut needs: Vec<Need> = COMMON.to_vec();
    if components.contains(&Component::Spark) {
        needs.extend_from_slice(SPARK);
    }
    if components.contains(&Component::Monitoring) {
        // Its Role grants get/list/watch on pods, which COMMON holds already.
        needs.extend_from_slice(MONITORING);
    }
    merge(&needs)
}

/// The permissions to manage the PodMonitors the charts make. Pure.
pub fn pod_monitors_needed() -> Vec<Permission> {
    merge(POD_MONITORS)
}

/// The cluster-wide permissions of the monitoring chart's kubelet scrape (`kubelet.enabled`). Pure.
pub fn kubelet_metrics_needed() -> Vec<Permission> {
    merge(KUBELET_METRICS)
}

/// The cluster-wide permissions that only make some checks, or the monitoring chart's kubelet scrape,
/// possible. Pure.
pub fn cluster_needed() -> Vec<Permission> {
    merge(&[CLUSTER, KUBELET_METRICS].concat())
}

/// One permission per resource, with the union of the verbs (in the order first seen) and reasons.
fn merge(needs: &[Need]) -> Vec<Permission> {
    let mut merged: Vec<Permission> = Vec::new();
    for n in needs {
        let index = match merged
            .iter()
            .position(|p| p.group == n.group && p.resource == n.resource)
        {
            Some(index) => index,
            None => {
                merged.push(Permission {
                    group: n.group,
                    resource: n.resource,
                    verbs: Vec::new(),
                    why: Vec::new(),
                });
                merged.len() - 1
            }
        };
        let permission = &mut merged[index];
        for verb in n.verbs {
            if !permission.verbs.contains(verb) {
                permission.verbs.push(verb);
            }
        }
        if !permission.why.contains(&n.why) {
            permission.why.push(n.why);
        }
    }
    merged
}

/// The reason the plugin needs `resource` of `group`, when it is one it knows.
fn why_needed(group: &str, resource: &str) -> Option<String> {
    merge(COMMON)
        .into_iter()
        .chain(merge(SPARK))
        .chain(merge(CLUSTER))
        .chain(merge(KUBELET_METRICS))
        .find(|p| p.group == group && p.resource == resource)
        .map(|p| p.why_text())
}

/// Of `needed`, the verbs that `allowed` refuses, per resource; empty when all are allowed. Pure.
pub fn refused(needed: &[Permission], allowed: &BTreeSet<(String, &str)>) -> Vec<Permission> {
    needed
        .iter()
        .filter_map(|p| {
            let verbs: Vec<&'static str> = p
                .verbs
                .iter()
                .copied()
                .filter(|v| !allowed.contains(&(p.name(), *v)))
                .collect();
            (!verbs.is_empty()).then(|| Permission { verbs, ..p.clone() })
        })
        .collect()
}

/// Asks the API server, one SelfSubjectAccessReview per verb, which of `needed` the current user
/// lacks in `namespace` (None: cluster-wide).
pub async fn missing(
    client: &Client,
    namespace: Option<&str>,
    needed: &[Permission],
) -> Result<Vec<Permission>, ApiError> {
    let asks: Vec<(&Permission, &'static str)> = needed
        .iter()
        .flat_map(|p| p.verbs.iter().map(move |v| (p, *v)))
        .collect();
    let answers: Vec<Result<(String, &'static str, bool), ApiError>> = stream::iter(asks)
        .map(|(p, verb)| async move {
            let allowed = may(client, namespace, p, verb).await?;
            Ok((p.name(), verb, allowed))
        })
        .buffer_unordered(CONCURRENT_REVIEWS)
        .collect()
        .await;
    let mut allowed = BTreeSet::new();
    for answer in answers {
        let (name, verb, yes) = answer?;
        if yes {
            allowed.insert((name, verb));
        }
    }
    Ok(refused(needed, &allowed))
}

async fn may(
    client: &Client,
    namespace: Option<&str>,
    permission: &Permission,
    verb: &str,
) -> Result<bool, ApiError> {
    let (resource, subresource) = match permission.resource.split_once('/') {
        Some((resource, sub)) => (resource, Some(sub.to_string())),
        None => (permission.resource, None),
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: namespace.map(String::from),
                group: Some(permission.group.to_string()),
                resource: Some(resource.to_string()),
                subresource,
                verb: Some(verb.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .or_explain(|| {
            format!(
                "ask the API server whether you may {verb} {}",
                permission.name()
            )
        })?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// The user the API server sees (SelfSubjectReview), when it says.
pub async fn whoami(client: &Client) -> Option<String> {
    Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .ok()?
        .status?
        .user_info?
        .username
}

/// Lines `  resource: verbs (why)`, one per permission.
pub fn describe(permissions: &[Permission]) -> String {
    permissions
        .iter()
        .map(|p| format!("  {}: {} ({})", p.name(), p.verbs.join(", "), p.why_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The current user lacks the cluster-wide permissions of the monitoring chart's kubelet scrape.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to install the monitoring component: forbidden: {who} lacks cluster-wide permissions that \
     monitoring.kubelet.enabled needs:\n{}\n\
     ask your cluster admin for a ClusterRole granting them (see {DOCS}), or set monitoring.kubelet.enabled=false \
     (the resources dashboard then shows the requests, not the usage)",
    describe(missing)
)]
pub struct MissingClusterPermissions {
    /// `user "name"`, or `the current user` when the API server does not say.
    pub who: String,
    pub missing: Vec<Permission>,
}

/// The current user lacks permissions an install needs.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to install in namespace {namespace:?}: forbidden: {who} lacks permissions the plugin needs there:\n{}\n\
     ask your cluster admin for a Role granting them (see {DOCS}; `helm bigdata doctor` lists what is missing)",
    describe(missing)
)]
pub struct MissingPermissions {
    pub namespace: String,
    /// `user "name"`, or `the current user` when the API server does not say.
    pub who: String,
    pub missing: Vec<Permission>,
}

/// `user "name"` for messages, or `the current user`.
pub fn who(name: Option<&str>) -> String {
    name.map_or_else(|| "the current user".to_string(), |n| format!("user {n:?}"))
}

/// A request the API server refused with 403 Forbidden, explained: what was refused, and what to ask
/// for. Built from the API server's message, which helm passes on unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "failed to {action}: forbidden: {detail}; the plugin needs {needs} — ask your cluster admin for a {role} granting it (see {DOCS})"
)]
pub struct Forbidden {
    pub action: String,
    /// The API server's words: `user "u" cannot list resource "pods" in API group "" in the namespace "x"`.
    pub detail: String,
    /// `list on pods in namespace "x" (why)`.
    pub needs: String,
    /// `Role` for a namespace, `ClusterRole` for the cluster scope.
    pub role: &'static str,
}

/// What the RBAC authorizer says it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Denied<'a> {
    verb: &'a str,
    resource: &'a str,
    group: &'a str,
    /// None: at the cluster scope.
    namespace: Option<&'a str>,
}

impl Forbidden {
    /// From the API server's message: `pods is forbidden: User "u" cannot list resource "pods" in API
    /// group "" in the namespace "x"` (kube-rs's Status, or a line of helm's stderr).
    pub fn from_message(action: impl Into<String>, message: &str) -> Forbidden {
        let action = action.into();
        let detail = message
            .split_once("is forbidden: ")
            .map_or(message, |(_, rest)| rest)
            .trim();
        let detail = match detail.strip_prefix("User ") {
            Some(rest) => format!("user {rest}"),
            None => detail.to_string(),
        };
        let (needs, role) = match parse_denied(&detail) {
            Some(denied) => needs_text(&denied),
            None => (format!("the permission to {action}"), "Role"),
        };
        Forbidden {
            action,
            detail,
            needs,
            role,
        }
    }

    /// From helm's stderr, when it says the API server refused it for lack of a permission (not when the
    /// namespace is being deleted, which the API server also answers with 403).
    pub fn from_helm(action: &str, stderr: &str) -> Option<Forbidden> {
        let line = stderr.lines().find(|l| {
            l.contains("is forbidden: ") && !l.contains("because it is being terminated")
        })?;
        Some(Forbidden::from_message(action, line))
    }
}

fn needs_text(denied: &Denied) -> (String, &'static str) {
    let mut text = format!(
        "{} on {}",
        denied.verb,
        qualified(denied.resource, denied.group)
    );
    let role = match denied.namespace {
        Some(ns) => {
            text.push_str(&format!(" in namespace {ns:?}"));
            "Role"
        }
        None => {
            text.push_str(" at the cluster scope");
            "ClusterRole"
        }
    };
    if let Some(why) = why_needed(denied.group, denied.resource) {
        text.push_str(&format!(" ({why})"));
    }
    (text, role)
}

/// `user "u" cannot VERB resource "RES" [in API group "G"] (in the namespace "NS" | at the cluster scope)`.
fn parse_denied(detail: &str) -> Option<Denied<'_>> {
    let (_, rest) = detail.split_once(" cannot ")?;
    let (verb, rest) = rest.split_once(" resource \"")?;
    let (resource, rest) = rest.split_once('"')?;
    let (group, rest) = match rest.strip_prefix(" in API group \"") {
        Some(rest) => rest.split_once('"')?,
        None => ("", rest),
    };
    let namespace = match rest.strip_prefix(" in the namespace \"") {
        Some(rest) => Some(rest.split_once('"')?.0),
        None if rest.starts_with(" at the cluster scope") => None,
        None => return None,
    };
    Some(Denied {
        verb,
        resource,
        group,
        namespace,
    })
}

/// A failed request to the API server, in words: a 403 explained, anything else without kube-rs's
/// debug dump of the API server's Status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("failed to {action}: {detail}")]
    Other { action: String, detail: String },
}

impl ApiError {
    pub fn new(action: impl Into<String>, error: &kube::Error) -> ApiError {
        match error {
            kube::Error::Api(status) if status.code == 403 => {
                Forbidden::from_message(action, &status.message).into()
            }
            _ => ApiError::Other {
                action: action.into(),
                detail: explain(error),
            },
        }
    }

    /// From a failed watch (`await_condition`): the request the watch made, explained.
    pub fn from_wait(action: impl Into<String>, error: &kube::runtime::wait::Error) -> ApiError {
        use kube::runtime::watcher::Error as Watch;
        let kube::runtime::wait::Error::ProbeFailed(error) = error;
        match error {
            Watch::InitialListFailed(e) | Watch::WatchStartFailed(e) | Watch::WatchFailed(e) => {
                ApiError::new(action, e)
            }
            Watch::WatchError(status) if status.code == 403 => {
                Forbidden::from_message(action, &status.message).into()
            }
            other => ApiError::Other {
                action: action.into(),
                detail: other.to_string(),
            },
        }
    }

    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Forbidden(_))
    }
}

/// kube-rs's error in words: for an answer of the API server its message, reason and code (kube-rs's
/// own text appends a debug dump of the Status).
pub fn explain(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.code == 401 => format!(
            "unauthorized: the API server rejected the credentials of the kubeconfig (expired token?): {}",
            status.message
        ),
        kube::Error::Api(status) => {
            let mut text = status.message.clone();
            if !status.reason.is_empty() {
                text.push_str(&format!(" ({}, HTTP {})", status.reason, status.code));
            }
            text
        }
        other => other.to_string(),
    }
}

/// `.or_explain(|| "list pods in namespace \"x\"")` on a kube-rs result.
pub trait OrExplain<T> {
    fn or_explain(self, action: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> OrExplain<T> for Result<T, kube::Error> {
    fn or_explain(self, action: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::new(action(), &e))
    }
}

impl<T> OrExplain<T> for Result<T, kube::runtime::wait::Error> {
    fn or_explain(self, action: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from_wait(action(), &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_being_deleted_is_not_a_missing_permission() {
        let stderr = "Error: INSTALLATION FAILED: configmaps \"x\" is forbidden: unable to create new content in namespace tl because it is being terminated";
        assert!(Forbidden::from_helm("install release x", stderr).is_none());
        let denied = r#"Error: secrets is forbidden: User "u" cannot create resource "secrets" in API group "" in the namespace "tl""#;
        assert!(Forbidden::from_helm("install release x", denied).is_some());
    }

    const POD_LIST: &str = r#"pods is forbidden: User "system:serviceaccount:data:ci" cannot list resource "pods" in API group "" in the namespace "data""#;

    #[test]
    fn a_forbidden_answer_names_what_was_refused_and_what_to_ask_for() {
        let error = Forbidden::from_message("list pods in namespace \"data\"", POD_LIST);
        assert_eq!(
            error.to_string(),
            "failed to list pods in namespace \"data\": forbidden: user \"system:serviceaccount:data:ci\" cannot list \
             resource \"pods\" in API group \"\" in the namespace \"data\"; the plugin needs list on pods in namespace \
             \"data\" (to say why a pod is not ready) — ask your cluster admin for a Role granting it (see \
             docs/plugin.md#permissions)"
        );
    }

    #[test]
    fn a_cluster_scoped_refusal_asks_for_a_cluster_role() {
        let message = r#"nodes "lab-node-1" is forbidden: User "jane" cannot get resource "nodes" in API group "" at the cluster scope"#;
        let error = Forbidden::from_message("read node lab-node-1", message);
        assert_eq!(error.role, "ClusterRole");
        assert!(
            error
                .needs
                .starts_with("get on nodes at the cluster scope (to tell simulated"),
            "{}",
            error.needs
        );
    }

    #[test]
    fn helms_forbidden_line_is_found_and_explained() {
        let stderr = "Error: query: failed to query with labels: secrets is forbidden: User \"system:serviceaccount:x:reader\" \
                      cannot list resource \"secrets\" in API group \"\" in the namespace \"x\"\n";
        let error =
            Forbidden::from_helm("read the status of release bigdata-mysql", stderr).unwrap();
        assert!(
            error.needs.starts_with(
                "list on secrets in namespace \"x\" (helm keeps each release in a Secret"
            ),
            "{}",
            error.needs
        );
        assert!(
            error
                .detail
                .starts_with("user \"system:serviceaccount:x:reader\" cannot list")
        );
        assert!(Forbidden::from_helm("x", "Error: release: not found").is_none());
    }

    #[test]
    fn a_group_and_a_subresource_are_named_as_rbac_names_them() {
        let message = r#"deployments.apps is forbidden: User "u" cannot patch resource "deployments" in API group "apps" in the namespace "d""#;
        let error = Forbidden::from_message("install", message);
        assert!(
            error
                .needs
                .starts_with("patch on deployments.apps in namespace \"d\"")
        );
        let message = r#"pods "p" is forbidden: User "u" cannot get resource "pods/log" in API group "" in the namespace "d""#;
        let error = Forbidden::from_message("read the log of p", message);
        assert!(
            error
                .needs
                .starts_with("get on pods/log in namespace \"d\" (the last log lines")
        );
    }

    #[test]
    fn an_unusual_message_still_gives_one_clear_line() {
        let error = Forbidden::from_message("list pods", "forbidden by the webhook authorizer");
        assert_eq!(
            error.to_string(),
            "failed to list pods: forbidden: forbidden by the webhook authorizer; the plugin needs the permission to \
             list pods — ask your cluster admin for a Role granting it (see docs/plugin.md#permissions)"
        );
    }

    #[test]
    fn a_403_from_kube_becomes_forbidden_and_other_errors_lose_the_debug_dump() {
        let status = |code: u16, reason: &str, message: &str| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                reason: reason.into(),
                message: message.into(),
                ..kube::core::Status::default()
            }))
        };
        let error = ApiError::new("list pods", &status(403, "Forbidden", POD_LIST));
        assert!(error.is_forbidden());
        let error = ApiError::new(
            "read pod p",
            &status(404, "NotFound", "pods \"p\" not found"),
        );
        assert_eq!(
            error.to_string(),
            "failed to read pod p: pods \"p\" not found (NotFound, HTTP 404)"
        );
        assert!(!error.to_string().contains("Status {"));
    }

    #[test]
    fn spark_needs_rbac_and_what_its_role_grants_only_when_installed() {
        let kafka = needed(&[Component::Kafka]);
        assert!(!kafka.iter().any(|p| p.resource == "roles"));
        let spark = needed(&Component::ALL);
        let pods = spark.iter().find(|p| p.name() == "pods").unwrap();
        assert_eq!(
            pods.verbs,
            [
                "get",
                "list",
                "watch",
                "create",
                "patch",
                "delete",
                "deletecollection"
            ]
        );
        assert!(
            spark
                .iter()
                .any(|p| p.name() == "roles.rbac.authorization.k8s.io")
        );
        // one entry per resource
        let names: BTreeSet<String> = spark.iter().map(Permission::name).collect();
        assert_eq!(names.len(), spark.len());
    }

    #[test]
    fn monitoring_needs_prometheus_rbac_only_when_installed() {
        let kafka = needed(&[Component::Kafka]);
        assert!(!kafka.iter().any(|p| p.resource == "serviceaccounts"));
        let monitoring = needed(&[Component::Monitoring]);
        for name in [
            "serviceaccounts",
            "roles.rbac.authorization.k8s.io",
            "rolebindings.rbac.authorization.k8s.io",
        ] {
            assert!(monitoring.iter().any(|p| p.name() == name), "{name}");
        }
        // what its Role grants Prometheus, the plugin holds already
        let pods = monitoring.iter().find(|p| p.name() == "pods").unwrap();
        for verb in ["get", "list", "watch"] {
            assert!(pods.verbs.contains(&verb));
        }
    }

    #[test]
    fn refused_keeps_only_the_verbs_not_allowed() {
        let needed = needed(&[Component::Kafka]);
        let mut allowed = BTreeSet::new();
        for p in &needed {
            for v in &p.verbs {
                allowed.insert((p.name(), *v));
            }
        }
        assert!(refused(&needed, &allowed).is_empty());
        allowed.remove(&("secrets".to_string(), "create"));
        allowed.remove(&("pods/log".to_string(), "get"));
        let missing = refused(&needed, &allowed);
        assert_eq!(missing.len(), 2);
        assert_eq!(missing[0].name(), "secrets");
        assert_eq!(missing[0].verbs, ["create"]);
        assert_eq!(
            describe(&missing),
            "  secrets: create (helm keeps each release in a Secret)\n  pods/log: get (the last log lines of a crashing container)"
        );
    }
}
