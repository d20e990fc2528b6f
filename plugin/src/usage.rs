//! What a component's pods use against what they request, CPU and memory, for `status`. The usage
//! comes from the cluster's metrics API (`metrics.k8s.io`, served by metrics-server) when it has one;
//! the requests from the pods' own specs. Parsing and sums are pure; [`pod_metrics`] asks the cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::Value;

use crate::quantity::{QuantityError, parse_millis, parse_units};
use crate::resources;

/// One pod's usage, summed over its containers, as the metrics API last measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measured {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

/// What the metrics API says of a namespace's pods, or why there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodMetrics {
    /// Each measured pod by name. Pods the API has not measured (yet, or ever: a simulated node has no
    /// kubelet) are absent.
    Served(BTreeMap<String, Measured>),
    /// Why no usage can be shown: the sentence says what to do.
    Unavailable(String),
}

/// A component's running pods: their requests, and the usage of those the metrics API measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ComponentUsage {
    pub pods: usize,
    /// How many of `pods` the metrics API measured; the `used` figures sum those only.
    pub measured: usize,
    pub cpu_used_millis: i64,
    pub cpu_requested_millis: i64,
    pub memory_used_bytes: i64,
    pub memory_requested_bytes: i64,
}

impl ComponentUsage {
    /// `0.08/1.00` cores, used of requested; `-/1.00` when no pod was measured.
    pub fn cpu_column(&self) -> String {
        let cores = |millis: i64| format!("{:.2}", millis as f64 / 1000.0);
        self.column(
            cores(self.cpu_used_millis),
            cores(self.cpu_requested_millis),
        )
    }

    /// `418Mi/1.0Gi`, used of requested; `-/1.0Gi` when no pod was measured.
    pub fn memory_column(&self) -> String {
        self.column(
            bytes(self.memory_used_bytes),
            bytes(self.memory_requested_bytes),
        )
    }

    fn column(&self, used: String, requested: String) -> String {
        let used = if self.measured == 0 { "-".into() } else { used };
        let partial = if self.measured > 0 && self.measured < self.pods {
            format!(" ({}/{} pods)", self.measured, self.pods)
        } else {
            String::new()
        };
        format!("{used}/{requested}{partial}")
    }
}

/// `512Mi`, `1.5Gi`: the binary unit that keeps the number short.
fn bytes(value: i64) -> String {
    const MI: f64 = (1u64 << 20) as f64;
    const GI: f64 = (1u64 << 30) as f64;
    let v = value as f64;
    if v >= GI {
        format!("{:.1}Gi", v / GI)
    } else {
        format!("{:.0}Mi", v / MI)
    }
}

/// The requests of a pod: its containers' summed, or its largest init container's when larger (as the
/// scheduler counts them; the same sum as for rendered manifests, `resources::pod_requests`). Missing
/// requests count 0.
pub fn pod_requests(pod: &Pod) -> Result<Measured, QuantityError> {
    // a Pod's spec always serializes (its quantities are strings): Null only for a pod without one
    let spec = serde_yaml::to_value(&pod.spec).unwrap_or(serde_yaml::Value::Null);
    let requests = resources::pod_requests(&spec)?;
    Ok(Measured {
        cpu_millis: requests.cpu_millis,
        memory_bytes: requests.memory_bytes,
    })
}

/// One PodMetrics object (`containers[].usage.cpu|memory`) summed over its containers.
pub fn measured_from(pod_metrics: &Value) -> Result<Measured, QuantityError> {
    let mut sum = Measured::default();
    for container in pod_metrics["containers"].as_array().into_iter().flatten() {
        let usage = &container["usage"];
        sum.cpu_millis += parse_millis(usage["cpu"].as_str().unwrap_or("0"))?;
        sum.memory_bytes += parse_units(usage["memory"].as_str().unwrap_or("0"))?;
    }
    Ok(sum)
}

/// The usage against the requests of `pods` (those Running), with the measurements by pod name.
pub fn usage_of(
    pods: &[Pod],
    measured: &BTreeMap<String, Measured>,
) -> Result<ComponentUsage, QuantityError> {
    let mut usage = ComponentUsage::default();
    for pod in pods {
        if pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") {
            continue;
        }
        let requested = pod_requests(pod)?;
        usage.pods += 1;
        usage.cpu_requested_millis += requested.cpu_millis;
        usage.memory_requested_bytes += requested.memory_bytes;
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        if let Some(m) = measured.get(name) {
            usage.measured += 1;
            usage.cpu_used_millis += m.cpu_millis;
            usage.memory_used_bytes += m.memory_bytes;
        }
    }
    Ok(usage)
}

/// How long `status` waits for the metrics API: a registered metrics API whose server is gone has held a
/// request for minutes (seen in the lab, its metrics-server dead at start).
pub const METRICS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The metrics API's measurements of the pods of `namespace`, or why there are none.
pub async fn pod_metrics(client: &Client, namespace: &str) -> PodMetrics {
    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "pods");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let list = match tokio::time::timeout(METRICS_TIMEOUT, api.list(&ListParams::default())).await {
        Ok(Ok(list)) => list,
        Ok(Err(error)) => return PodMetrics::Unavailable(unavailable(&error, namespace)),
        Err(_) => {
            return PodMetrics::Unavailable(format!(
                "the metrics API did not answer within {} s: check metrics-server (kubectl get apiservice v1beta1.metrics.k8s.io)",
                METRICS_TIMEOUT.as_secs()
            ));
        }
    };
    let mut measured = BTreeMap::new();
    for item in list {
        let name = item.metadata.name.clone().unwrap_or_default();
        match measured_from(&item.data) {
            Ok(m) => {
                measured.insert(name, m);
            }
            Err(error) => {
                return PodMetrics::Unavailable(format!(
                    "the metrics API gave pod {name:?} a usage that is not a quantity: {error}"
                ));
            }
        }
    }
    PodMetrics::Served(measured)
}

/// Why the metrics API gave nothing, and what to do.
fn unavailable(error: &kube::Error, namespace: &str) -> String {
    match error {
        kube::Error::Api(status) if status.code == 404 => {
            "the cluster serves no metrics API (metrics.k8s.io): install metrics-server to see them"
                .into()
        }
        kube::Error::Api(status) if status.code == 403 => format!(
            "you may not list pods.metrics.k8s.io in namespace {namespace:?}: ask for it (the built-in view role has it when metrics-server's reader role is aggregated)"
        ),
        kube::Error::Api(status) if status.code == 503 => format!(
            "the metrics API does not answer ({}): check metrics-server (kubectl get apiservice v1beta1.metrics.k8s.io)",
            status.message
        ),
        other => format!("failed to list the pods' metrics: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, phase: &str, requests: &[(&str, &str)], init: &[(&str, &str)]) -> Pod {
        let container = |n: &str, r: &[(&str, &str)]| {
            let requests: serde_json::Map<String, Value> =
                r.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            json!({"name": n, "image": "x", "resources": {"requests": requests}})
        };
        let init: Vec<Value> = if init.is_empty() {
            Vec::new()
        } else {
            vec![container("init", init)]
        };
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"containers": [container("main", requests), container("side", &[("cpu", "50m")])],
                     "initContainers": init},
            "status": {"phase": phase},
        }))
        .unwrap()
    }

    #[test]
    fn a_pods_requests_are_its_containers_or_its_largest_init_container() {
        let p = pod("a", "Running", &[("cpu", "250m"), ("memory", "1Gi")], &[]);
        assert_eq!(
            pod_requests(&p),
            Ok(Measured {
                cpu_millis: 300,
                memory_bytes: 1 << 30
            })
        );
        let p = pod(
            "b",
            "Running",
            &[("cpu", "250m")],
            &[("cpu", "2"), ("memory", "64Mi")],
        );
        assert_eq!(
            pod_requests(&p),
            Ok(Measured {
                cpu_millis: 2000,
                memory_bytes: 64 << 20
            })
        );
    }

    #[test]
    fn a_pod_metrics_object_is_summed_over_its_containers() {
        let metrics = json!({"containers": [
            {"name": "a", "usage": {"cpu": "123456789n", "memory": "424Ki"}},
            {"name": "b", "usage": {"cpu": "2m", "memory": "1Mi"}},
        ]});
        assert_eq!(
            measured_from(&metrics),
            Ok(Measured {
                cpu_millis: 126,
                memory_bytes: 424 * 1024 + (1 << 20)
            })
        );
        assert!(measured_from(&json!({"containers": [{"usage": {"cpu": "lots"}}]})).is_err());
    }

    #[test]
    fn no_metrics_api_is_said_with_what_to_do() {
        let status = |code: u16, message: &str| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                message: message.into(),
                ..kube::core::Status::default()
            }))
        };
        assert!(
            unavailable(
                &status(404, "the server could not find the requested resource"),
                "d"
            )
            .contains("serves no metrics API (metrics.k8s.io): install metrics-server")
        );
        assert!(
            unavailable(&status(403, "forbidden"), "d")
                .contains("you may not list pods.metrics.k8s.io in namespace \"d\"")
        );
        assert!(
            unavailable(&status(503, "service unavailable"), "d")
                .contains("kubectl get apiservice v1beta1.metrics.k8s.io")
        );
    }

    #[test]
    fn usage_counts_running_pods_and_says_how_many_were_measured() {
        let pods = [
            pod("a", "Running", &[("cpu", "250m"), ("memory", "1Gi")], &[]),
            pod("b", "Running", &[("cpu", "250m"), ("memory", "1Gi")], &[]),
            pod("done", "Succeeded", &[("cpu", "1")], &[]),
        ];
        let measured = BTreeMap::from([(
            "a".to_string(),
            Measured {
                cpu_millis: 80,
                memory_bytes: 418 << 20,
            },
        )]);
        let usage = usage_of(&pods, &measured).unwrap();
        assert_eq!(usage.pods, 2);
        assert_eq!(usage.measured, 1);
        assert_eq!(usage.cpu_column(), "0.08/0.60 (1/2 pods)");
        assert_eq!(usage.memory_column(), "418Mi/2.0Gi (1/2 pods)");
        let none = usage_of(&pods, &BTreeMap::new()).unwrap();
        assert_eq!(none.cpu_column(), "-/0.60");
        assert_eq!(none.memory_column(), "-/2.0Gi");
    }
}
