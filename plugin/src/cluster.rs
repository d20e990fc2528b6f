//! The connection to the Kubernetes cluster, configured the way helm configures its plugins.

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::access::{ApiError, OrExplain};

/// Environment variable through which helm passes `--kube-context` to a plugin.
pub const HELM_KUBECONTEXT: &str = "HELM_KUBECONTEXT";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("failed to read the kubeconfig (set KUBECONFIG or pass --kubeconfig to helm): {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("failed to find a cluster configuration (no kubeconfig and not running in a pod): {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("failed to create a Kubernetes client: {}", crate::access::explain(.0))]
    Client(#[source] kube::Error),
}

/// The kube-rs client for the context helm was asked to use (`HELM_KUBECONTEXT`), or the current one.
pub async fn client() -> Result<Client, ClusterError> {
    let config = match std::env::var(HELM_KUBECONTEXT)
        .ok()
        .filter(|c| !c.is_empty())
    {
        Some(context) => {
            let options = KubeConfigOptions {
                context: Some(context),
                ..KubeConfigOptions::default()
            };
            let kubeconfig = Kubeconfig::read().map_err(ClusterError::Kubeconfig)?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(ClusterError::Kubeconfig)?
        }
        None => Config::infer().await.map_err(ClusterError::Infer)?,
    };
    Client::try_from(config).map_err(ClusterError::Client)
}

/// The annotation kwok puts on the nodes it simulates.
pub const KWOK_NODE_ANNOTATION: &str = "kwok.x-k8s.io/node";

/// True for a node that kwok simulates: pods there are scheduled and "run", but no container does.
pub fn is_simulated(node: &Node) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(KWOK_NODE_ANNOTATION))
}

/// The name of the simulated node `pod` is bound to, or None when its node is real (or it is not
/// scheduled yet).
pub async fn simulated_node_of(client: &Client, pod: &Pod) -> Result<Option<String>, kube::Error> {
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
        return Ok(None);
    };
    let simulated = is_simulated(&Api::<Node>::all(client.clone()).get(&node).await?);
    Ok(simulated.then_some(node))
}

/// True when the pod's containers show no sign of having run: a kubelet records the container's id once
/// it created it; kwok's simulated statuses have none. (For users who may not read Nodes.)
pub fn ran_no_container(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_none_or(|cs| {
            cs.iter()
                .all(|c| c.container_id.as_deref().unwrap_or_default().is_empty())
        })
}

/// Whether install found the namespace, or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceState {
    Exists,
    Created,
    /// The user may not read namespaces (a namespace's own Role cannot grant it): helm will say if
    /// it is missing.
    Unknown,
}

/// Creates `name` when it does not exist. (Not helm's `--create-namespace`, which needs the right to
/// create or patch the namespace even when it exists.)
pub async fn ensure_namespace(client: &Client, name: &str) -> Result<NamespaceState, ApiError> {
    let api = Api::<Namespace>::all(client.clone());
    match api.get_opt(name).await {
        Ok(Some(_)) => return Ok(NamespaceState::Exists),
        Ok(None) => {}
        Err(kube::Error::Api(status)) if status.code == 403 => return Ok(NamespaceState::Unknown),
        Err(e) => return Err(ApiError::new(format!("read namespace {name:?}"), &e)),
    }
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(NamespaceState::Exists),
        other => other
            .map(|_| NamespaceState::Created)
            .or_explain(|| format!("create namespace {name:?}")),
    }
}
