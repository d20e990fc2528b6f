//! Tests that prove the lab is a real Kubernetes control plane: the real kube-apiserver validates and
//! stores, the real scheduler binds pods to nodes, the real controllers run Deployments, Jobs and volume
//! provisioning. Only the nodes are simulated (kwok): their pods run no containers.
//!
//! They need the lab: `ci/lab up && export KUBECONFIG=$(ci/lab env)`, then
//! `cargo test -p helm-bigdata --test lab -- --ignored` (ci/test does all of this).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Api, Client, Resource};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);

async fn lab_client() -> Client {
    assert!(
        std::env::var_os("KUBECONFIG").is_some(),
        "these tests need the lab: run `ci/lab up` and `export KUBECONFIG=$(ci/lab env)`"
    );
    Client::try_default()
        .await
        .expect("failed to connect to the lab")
}

/// A fresh namespace for one test, so tests can run at the same time.
async fn namespace(client: &Client, name: &str) -> String {
    let api: Api<Namespace> = Api::all(client.clone());
    if api.get_opt(name).await.unwrap().is_some() {
        api.delete(name, &DeleteParams::default()).await.unwrap();
        wait_for(&api, name, |ns: Option<&Namespace>| ns.is_none()).await;
    }
    api.create(
        &PostParams::default(),
        &object(json!({"metadata": {"name": name}})),
    )
    .await
    .unwrap();
    name.to_string()
}

fn object<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("test object must match its type")
}

/// Watches `name` until `condition` holds; returns the object then (None once it is deleted).
async fn wait_for<K>(api: &Api<K>, name: &str, condition: impl Condition<K>) -> Option<K>
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + 'static,
{
    tokio::time::timeout(WAIT, await_condition(api.clone(), name, condition))
        .await
        .unwrap_or_else(|_| panic!("{name} did not reach its condition in {WAIT:?}"))
        .expect("watch failed")
}

fn pod_spec(name: &str, annotations: serde_json::Value) -> serde_json::Value {
    json!({
        "metadata": {"labels": {"app": name}, "annotations": annotations},
        "spec": {
            "containers": [{
                "name": "main",
                "image": "registry.invalid/lab-test:1.0",
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
            }]
        }
    })
}

/// A Deployment `name` of `replicas` pods (label app=name), created and waited for until it completes.
async fn completed_deployment(client: &Client, ns: &str, name: &str, replicas: i32) -> Deployment {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let deployment = object(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": pod_spec(name, json!({}))}
    }));
    api.create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    wait_for(&api, name, conditions::is_deployment_completed())
        .await
        .unwrap()
}

async fn pods_of(client: &Client, ns: &str, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

async fn is_simulated_node(client: &Client, node_name: &str) -> bool {
    let node = Api::<Node>::all(client.clone())
        .get(node_name)
        .await
        .unwrap();
    node.metadata
        .annotations
        .unwrap_or_default()
        .contains_key("kwok.x-k8s.io/node")
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_deployment_gets_its_pods_scheduled_on_simulated_nodes_and_ready() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-deployment").await;
    let done = completed_deployment(&client, &ns, "web", 3).await;
    assert_eq!(done.status.unwrap().ready_replicas, Some(3));

    let pods = pods_of(&client, &ns, "web").await;
    assert_eq!(pods.len(), 3);
    for pod in pods {
        let node = pod
            .spec
            .unwrap()
            .node_name
            .expect("the scheduler bound the pod to a node");
        assert!(
            is_simulated_node(&client, &node).await,
            "{node} is not a kwok node"
        );
    }
}

/// The lab serves the metrics API (metrics-server, registered by ci/lab), which `helm bigdata status` reads. Pods
/// on the simulated nodes have no usage in it (no kubelet runs there): absent, not made up. ci/e2e checks the
/// real node's pods are measured.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_lab_serves_the_metrics_api() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-metrics").await;
    completed_deployment(&client, &ns, "idle", 2).await;
    match helm_bigdata::usage::pod_metrics(&client, &ns).await {
        helm_bigdata::usage::PodMetrics::Served(measured) => {
            assert!(measured.is_empty(), "simulated pods measured: {measured:?}")
        }
        other => panic!("the lab serves no metrics API: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_job_completes() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-job").await;
    let api: Api<Job> = Api::namespaced(client.clone(), &ns);
    let mut template = pod_spec("batch", json!({}));
    template["spec"]["restartPolicy"] = json!("Never");
    let job = object(json!({
        "metadata": {"name": "batch"},
        "spec": {"completions": 2, "parallelism": 2, "backoffLimit": 0, "template": template}
    }));
    api.create(&PostParams::default(), &job).await.unwrap();
    let done = wait_for(&api, "batch", conditions::is_job_completed())
        .await
        .unwrap();
    assert_eq!(done.status.unwrap().succeeded, Some(2));
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_api_server_rejects_an_invalid_object_with_its_real_error() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-invalid").await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let invalid = object(json!({
        "metadata": {"name": "Not_A_Valid_Name"},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "x"}}, "template": pod_spec("x", json!({}))}
    }));
    let error = api
        .create(&PostParams::default(), &invalid)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = error else {
        panic!("expected an API error, got {error:?}")
    };
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
    assert!(status.message.contains("RFC 1123"), "{}", status.message);
    assert!(
        status.message.contains("spec.replicas"),
        "{}",
        status.message
    );
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_claim_on_the_default_storage_class_binds_to_a_provisioned_volume() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-pvc").await;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let claim = object(json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "3Gi"}}}
    }));
    api.create(&PostParams::default(), &claim).await.unwrap();
    let bound = wait_for(&api, "data", |pvc: Option<&PersistentVolumeClaim>| {
        pvc.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Bound")
    })
    .await
    .unwrap();
    let spec = bound.spec.unwrap();
    assert!(
        spec.storage_class_name.is_some(),
        "the default StorageClass was applied"
    );
    let volume = Api::<PersistentVolume>::all(client.clone())
        .get(&spec.volume_name.unwrap())
        .await
        .unwrap();
    assert_eq!(volume.spec.unwrap().capacity.unwrap()["storage"].0, "3Gi");
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_pod_can_be_made_slow_to_become_ready() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-slow").await;
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let mut pod: serde_json::Value = pod_spec("slow", json!({"lab.bigdata.io/ready-delay": "4s"}));
    pod["metadata"]["name"] = json!("slow");
    api.create(&PostParams::default(), &object(pod))
        .await
        .unwrap();
    let ready = wait_for(&api, "slow", is_pod_ready).await.unwrap();
    let status = ready.status.unwrap();
    let created = ready.metadata.creation_timestamp.unwrap().0;
    let ready_at = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .and_then(|c| c.last_transition_time)
        .expect("the pod became Ready")
        .0;
    let waited = ready_at.as_second() - created.as_second();
    assert!(
        waited >= 4,
        "Ready after {waited}s, but the annotation asked for 4s"
    );
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_pod_can_be_made_to_crash_loop() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-crash").await;
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let mut pod: serde_json::Value =
        pod_spec("crash", json!({"lab.bigdata.io/fail": "CrashLoopBackOff"}));
    pod["metadata"]["name"] = json!("crash");
    api.create(&PostParams::default(), &object(pod))
        .await
        .unwrap();
    let crashed = wait_for(&api, "crash", |pod: Option<&Pod>| {
        pod.and_then(|p| p.status.as_ref())
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.first())
            .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
            .as_deref()
            == Some("CrashLoopBackOff")
    })
    .await
    .unwrap();
    let status = crashed.status.unwrap();
    let container = &status.container_statuses.unwrap()[0];
    assert!(!container.ready);
    assert!(container.restart_count > 0);
    let last = container
        .last_state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap();
    assert_eq!(last.exit_code, 1);
}

fn is_pod_ready(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.status.as_ref()?.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn helm(args: &[&str]) -> std::process::Output {
    let bin = std::env::var("HELM_BIN").unwrap_or_else(|_| "helm".to_string());
    Command::new(&bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {bin}: {e}"))
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn helm_installs_and_uninstalls_a_chart() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-helm").await;
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny");
    let started = Instant::now();
    let install = helm(&[
        "install",
        "demo",
        chart.to_str().unwrap(),
        "--namespace",
        &ns,
        "--wait",
        "--timeout",
        "90s",
    ]);
    assert!(
        install.status.success(),
        "helm install failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    eprintln!("helm install --wait took {:?}", started.elapsed());

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let data = configmaps.get("demo-tiny").await.unwrap().data.unwrap();
    assert_eq!(data["message"], "hello from the lab");
    let deployment = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get("demo-tiny")
        .await
        .unwrap();
    assert_eq!(deployment.status.unwrap().ready_replicas, Some(2));

    let uninstall = helm(&["uninstall", "demo", "--namespace", &ns, "--wait"]);
    assert!(
        uninstall.status.success(),
        "helm uninstall failed: {}",
        String::from_utf8_lossy(&uninstall.stderr)
    );
    assert!(configmaps.get_opt("demo-tiny").await.unwrap().is_none());
    let list = helm(&["list", "--namespace", &ns, "--short"]);
    assert!(String::from_utf8_lossy(&list.stdout).trim().is_empty());
}

/// The manifests users submit with `kubectl apply -f jobs/manifests/...` are accepted by the real API
/// server (schema, security context, resources): the Jobs complete and the stream's StatefulSet becomes
/// Ready on the simulated nodes (no container runs there: the jobs themselves are tested against the real
/// HDFS, Kafka and metastore in jobs/tests).
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_job_manifests_are_accepted_and_complete() {
    let client = lab_client().await;
    let ns = namespace(&client, "lab-test-manifests").await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/manifests");
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let (mut job_names, mut statefulset_names) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(document).unwrap();
            let rejected = |e: kube::Error| -> ! { panic!("{} rejected: {e}", path.display()) };
            let pp = PostParams::default();
            match value["kind"].as_str() {
                Some("Job") => {
                    let job: Job = serde_yaml::from_value(value).unwrap();
                    let created = jobs.create(&pp, &job).await.unwrap_or_else(|e| rejected(e));
                    job_names.push(created.metadata.name.unwrap());
                }
                Some("StatefulSet") => {
                    let sts: StatefulSet = serde_yaml::from_value(value).unwrap();
                    let created = statefulsets
                        .create(&pp, &sts)
                        .await
                        .unwrap_or_else(|e| rejected(e));
                    statefulset_names.push(created.metadata.name.unwrap());
                }
                Some("Service") => {
                    let svc: Service = serde_yaml::from_value(value).unwrap();
                    services
                        .create(&pp, &svc)
                        .await
                        .unwrap_or_else(|e| rejected(e));
                }
                other => panic!("{}: unexpected kind {other:?}", path.display()),
            }
        }
    }
    job_names.sort();
    assert_eq!(
        job_names,
        [
            "bigdata-compact",
            "bigdata-compact-indexed",
            "bigdata-generate",
            "bigdata-verify",
            "bigdata-wordcount",
            "bigdata-wordcount-indexed"
        ]
    );
    assert_eq!(statefulset_names, ["bigdata-stream"]);
    for name in job_names {
        let done = wait_for(&jobs, &name, conditions::is_job_completed())
            .await
            .unwrap();
        let completions = done.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
        assert_eq!(done.status.unwrap().succeeded, Some(completions), "{name}");
    }
    let ready = |sts: Option<&StatefulSet>| {
        sts.and_then(|s| s.status.as_ref())
            .is_some_and(|st| st.ready_replicas == Some(st.replicas) && st.replicas > 0)
    };
    wait_for(&statefulsets, "bigdata-stream", ready)
        .await
        .unwrap();
}
