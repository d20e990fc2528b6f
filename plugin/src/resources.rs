//! The resources a set of rendered manifests requests: CPU, memory and storage, summed over every
//! pod the workloads will run (replicas included). Pure: input is `helm template` output.

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::quantity::{QuantityError, parse_millis, parse_units};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub storage_bytes: i64,
    pub pods: i64,
    /// The largest single pod (it must fit on one node).
    pub largest_pod_cpu_millis: i64,
    pub largest_pod_memory_bytes: i64,
}

impl std::ops::Add for Requests {
    type Output = Requests;
    fn add(self, o: Requests) -> Requests {
        Requests {
            cpu_millis: self.cpu_millis + o.cpu_millis,
            memory_bytes: self.memory_bytes + o.memory_bytes,
            storage_bytes: self.storage_bytes + o.storage_bytes,
            pods: self.pods + o.pods,
            largest_pod_cpu_millis: self.largest_pod_cpu_millis.max(o.largest_pod_cpu_millis),
            largest_pod_memory_bytes: self
                .largest_pod_memory_bytes
                .max(o.largest_pod_memory_bytes),
        }
    }
}

impl std::fmt::Display for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CPU, {:.1} GiB memory, {:.0} GiB storage, {} pods",
            self.cpu_millis as f64 / 1000.0,
            self.memory_bytes as f64 / (1u64 << 30) as f64,
            self.storage_bytes as f64 / (1u64 << 30) as f64,
            self.pods
        )
    }
}

/// Sums the requests of the long-running workloads (Deployments, StatefulSets) and Jobs that are not
/// hooks or tests in a multi-document YAML stream. A pod counts its containers' requests, or its
/// largest init container's when that is larger (as the scheduler does).
pub fn requests_of(manifests: &str) -> Result<Requests, QuantityError> {
    let mut total = Requests::default();
    for document in serde_yaml::Deserializer::from_str(manifests) {
        let Ok(object) = Value::deserialize(document) else {
            continue;
        };
        let kind = object["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "Deployment" | "StatefulSet" | "Job") || is_hook(&object) {
            continue;
        }
        let spec = &object["spec"];
        let replicas = match kind {
            "Job" => spec["parallelism"].as_i64().unwrap_or(1),
            _ => spec["replicas"].as_i64().unwrap_or(1),
        };
        let pod = pod_requests(&spec["template"]["spec"])?;
        let mut storage = 0;
        for claim in spec["volumeClaimTemplates"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if let Some(q) = claim["spec"]["resources"]["requests"]["storage"].as_str() {
                storage += parse_units(q)?;
            }
        }
        total = total
            + Requests {
                cpu_millis: pod.cpu_millis * replicas,
                memory_bytes: pod.memory_bytes * replicas,
                storage_bytes: storage * replicas,
                pods: replicas,
                largest_pod_cpu_millis: pod.cpu_millis,
                largest_pod_memory_bytes: pod.memory_bytes,
            };
    }
    Ok(total)
}

fn is_hook(object: &Value) -> bool {
    object["metadata"]["annotations"]["helm.sh/hook"].is_string()
}

/// A quantity that YAML may have read as a string (`250m`) or a number (`2`).
fn quantity(
    value: &Value,
    parse: fn(&str) -> Result<i64, QuantityError>,
) -> Result<i64, QuantityError> {
    match value {
        Value::String(s) => parse(s),
        Value::Number(n) => parse(&n.to_string()),
        _ => Ok(0),
    }
}

/// The requests of one pod spec (`spec.template.spec`, or a Pod's `spec`): its containers' summed, or its
/// largest init container's when that is larger, per resource (as the scheduler counts them).
pub fn pod_requests(pod: &Value) -> Result<Requests, QuantityError> {
    let sum = |containers: &Value| -> Result<Vec<(i64, i64)>, QuantityError> {
        containers
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| {
                let r = &c["resources"]["requests"];
                Ok((
                    quantity(&r["cpu"], parse_millis)?,
                    quantity(&r["memory"], parse_units)?,
                ))
            })
            .collect()
    };
    let main = sum(&pod["containers"])?;
    let init = sum(&pod["initContainers"])?;
    let cpu = main
        .iter()
        .map(|r| r.0)
        .sum::<i64>()
        .max(init.iter().map(|r| r.0).max().unwrap_or(0));
    let memory = main
        .iter()
        .map(|r| r.1)
        .sum::<i64>()
        .max(init.iter().map(|r| r.1).max().unwrap_or(0));
    Ok(Requests {
        cpu_millis: cpu,
        memory_bytes: memory,
        pods: 1,
        ..Requests::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: nn}
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - {name: format, resources: {requests: {cpu: "1", memory: 256Mi}}}
      containers:
        - {name: nn, resources: {requests: {cpu: 250m, memory: 1Gi}}}
        - {name: zkfc, resources: {requests: {cpu: 50m, memory: 128Mi}}}
  volumeClaimTemplates:
    - spec: {resources: {requests: {storage: 10Gi}}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: hook
  annotations: {"helm.sh/hook": post-install}
spec:
  template: {spec: {containers: [{name: x, resources: {requests: {cpu: "8"}}}]}}
"#;

    #[test]
    fn sums_replicas_containers_init_containers_and_claims_but_not_hooks() {
        let r = requests_of(MANIFESTS).unwrap();
        // per pod: cpu max(250+50, 1000) = 1000m; memory max(1Gi+128Mi, 256Mi)
        assert_eq!(r.cpu_millis, 2000);
        assert_eq!(r.memory_bytes, 2 * (1024 + 128) * 1024 * 1024);
        assert_eq!(r.storage_bytes, 20 * 1024 * 1024 * 1024);
        assert_eq!(r.pods, 2);
        assert_eq!(r.largest_pod_cpu_millis, 1000);
    }
}
