//! `helm bigdata` against the lab: a real API server, real helm, real scheduler and controllers;
//! simulated nodes (kwok), so "healthy" here means the workloads are Ready as Kubernetes reports it,
//! not that the services answer (that is what `verify` and the native-service tests are for).
//!
//! Needs the lab and helm: `ci/lab up && eval "$(ci/lab env)"`, then
//! `cargo test -p helm-bigdata --test install -- --ignored` (ci/test does this).

use std::path::Path;
use std::process::{Command, Output};

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn helm_bin() -> String {
    std::env::var("HELM_BIN").unwrap_or_else(|_| "helm".into())
}

/// `helm-bigdata ARGS` with the environment helm gives its plugins, and this checkout's charts.
fn plugin_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helm-bigdata"));
    command
        .args(args)
        .env("HELM_BIN", helm_bin())
        .env("BIGDATA_CHARTS_DIR", repo().join("charts"))
        .env("BIGDATA_PROFILES_DIR", repo().join("values/profiles"));
    command
}

/// Runs `helm-bigdata ARGS` against the lab, as helm would run the plugin.
fn bigdata(args: &[&str]) -> Output {
    assert!(
        std::env::var_os("KUBECONFIG").is_some(),
        "these tests need the lab: run `ci/lab up` and `eval \"$(ci/lab env)\"`"
    );
    plugin_command(args)
        .output()
        .expect("failed to run helm-bigdata")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn fresh_namespace(name: &str) {
    let client = Client::try_default().await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    if api.get_opt(name).await.unwrap().is_some() {
        let _ = bigdata(&["uninstall", "--purge", "-n", name]);
        api.delete(name, &DeleteParams::default()).await.unwrap();
        kube::runtime::wait::await_condition(api.clone(), name, |ns: Option<&Namespace>| {
            ns.is_none()
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn every_profile_installs_resumes_and_uninstalls() {
    for profile in ["hdfs-hive-spark", "kafka", "full", "ha", "small"] {
        let ns = format!("lab-profile-{profile}");
        fresh_namespace(&ns).await;
        let first = bigdata(&[
            "install",
            "--profile",
            profile,
            "-n",
            &ns,
            "--timeout",
            "120s",
        ]);
        let log = text(&first);
        assert!(first.status.success(), "{profile}: {log}");
        assert!(log.contains("components are healthy"), "{profile}: {log}");
        // The components' own checks: Spark's RBAC is asked of the real API server; the exec checks
        // cannot run in a container on a simulated node, and say so instead of passing.
        if log.contains("-> spark") {
            assert!(
                log.contains("spark           ready in") && log.contains("checks: 1 passed"),
                "{log}"
            );
        }
        if log.contains("-> hdfs") {
            assert!(
                log.contains("1 not run (pod bigdata-hdfs-namenode-0 is on simulated node"),
                "{profile}: {log}"
            );
        }

        // Re-running is safe and leaves healthy releases alone.
        let again = bigdata(&[
            "install",
            "--profile",
            profile,
            "-n",
            &ns,
            "--timeout",
            "120s",
        ]);
        let log = text(&again);
        assert!(again.status.success(), "{profile} again: {log}");
        assert!(
            !log.contains("ready in"),
            "{profile}: a release was installed again: {log}"
        );
        assert!(log.contains("unchanged and ready"), "{profile}: {log}");

        let status = bigdata(&["status", "-n", &ns, "-o", "json"]);
        let rows: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        for row in rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["installed"] == true)
        {
            let ready = row["ready"].as_str().unwrap();
            let (have, want) = ready.split_once('/').unwrap();
            assert_eq!(have, want, "{profile}: {row}");
        }

        let gone = bigdata(&["uninstall", "--purge", "-n", &ns]);
        assert!(gone.status.success(), "{}", text(&gone));
        let client = Client::try_default().await.unwrap();
        let claims = Api::<PersistentVolumeClaim>::namespaced(client, &ns)
            .list(&ListParams::default())
            .await
            .unwrap();
        assert!(
            claims.items.is_empty(),
            "{profile}: claims left after --purge"
        );
    }
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_crash_looping_component_is_explained_and_blocks_only_its_dependents() {
    let ns = "lab-install-crash";
    fresh_namespace(ns).await;
    let values = std::env::temp_dir().join("bigdata-crash-values.yaml");
    std::fs::write(
        &values,
        "hdfs:\n  namenode:\n    podAnnotations:\n      lab.bigdata.io/fail: CrashLoopBackOff\n",
    )
    .unwrap();
    let out = bigdata(&[
        "install",
        "--profile",
        "full",
        "-n",
        ns,
        "--timeout",
        "25s",
        "-f",
        values.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("pod bigdata-hdfs-namenode-0: container namenode is crash-looping"),
        "{log}"
    );
    assert!(
        log.contains("hive-metastore: not started: hdfs is not healthy"),
        "{log}"
    );
    assert!(
        log.contains("spark: not started: hdfs is not healthy"),
        "{log}"
    );
    assert!(
        log.contains(
            "error: failed to install hdfs; not started because of it: hive-metastore, spark"
        ),
        "{log}"
    );
    // Independent components were installed all the same.
    assert!(log.contains("kafka           ready in"), "{log}");
    assert!(log.contains("mysql           ready in"), "{log}");
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn an_unschedulable_component_gets_the_schedulers_reason() {
    let ns = "lab-install-unschedulable";
    fresh_namespace(ns).await;
    let out = bigdata(&[
        "install",
        "--profile",
        "kafka",
        "-n",
        ns,
        "--timeout",
        "20s",
        "--set",
        "kafka.nodePools.brokers.resources.requests.cpu=64,kafka.nodePools.brokers.resources.limits.cpu=64",
    ]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("cannot be scheduled: 0/4 nodes are available"),
        "{log}"
    );
    assert!(log.contains("Insufficient cpu"), "{log}");
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_slow_component_is_waited_for_not_timed_out() {
    let ns = "lab-install-slow";
    fresh_namespace(ns).await;
    let out = bigdata(&[
        "install",
        "--profile",
        "kafka",
        "-n",
        ns,
        "--timeout",
        "60s",
        "--set",
        r"kafka.nodePools.controllers.podAnnotations.lab\.bigdata\.io/ready-delay=6s",
    ]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let seconds: f64 = log
        .split("kafka           ready in ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ready time in: {log}"));
    assert!(
        seconds >= 6.0,
        "ready after {seconds}s although the controller takes 6s: {log}"
    );
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

#[test]
#[ignore = "needs helm (ci/setup)"]
fn bad_input_gets_a_message_that_names_the_fix() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["plan", "--profile", "nope"],
            "unknown profile \"nope\": choose one of full, ha, hdfs-hive-spark, kafka, small",
        ),
        (
            &[
                "plan",
                "--profile",
                "kafka",
                "--set",
                "kafka.nodePools.brokers.replicas=-1",
            ],
            "replicas",
        ),
        (
            &["install", "--profile", "kafka", "--timeout", "soon"],
            "use e.g. 90s, 10m or 1h",
        ),
    ];
    for (args, expected) in cases {
        let out = bigdata(args);
        let log = text(&out);
        assert!(!out.status.success(), "{args:?} succeeded: {log}");
        assert!(log.contains(expected), "{args:?}: {log}");
        assert!(!log.contains("panicked"), "{args:?}: {log}");
    }
}

#[test]
#[ignore = "needs helm (ci/setup)"]
fn an_unreachable_cluster_is_named_as_such() {
    let kubeconfig = std::env::temp_dir().join("bigdata-unreachable-kubeconfig.yaml");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .unwrap();
    let out = plugin_command(&["install", "--profile", "kafka", "-n", "x"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(!out.status.success());
    assert!(
        log.contains("failed to reach the Kubernetes API server"),
        "{log}"
    );
}

/// `helm plugin install ./plugin` then `helm bigdata ...`, under helm 4 (HELM_BIN) and helm 3 (HELM3_BIN):
/// helm runs the install hook, passes its namespace, and the plugin finds the charts beside itself.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_plugin_installs_into_helm_4_and_helm_3_and_runs_there() {
    let helms = [Some(helm_bin()), std::env::var("HELM3_BIN").ok()];
    for helm in helms.into_iter().flatten() {
        let data = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            Command::new(&helm)
                .args(args)
                .env("HELM_DATA_HOME", data.path())
                .env("HELM_BIGDATA_BINARY", env!("CARGO_BIN_EXE_helm-bigdata"))
                .env_remove("BIGDATA_CHARTS_DIR")
                .env_remove("BIGDATA_PROFILES_DIR")
                .output()
                .unwrap()
        };
        let installed = run(&["plugin", "install", repo().join("plugin").to_str().unwrap()]);
        assert!(installed.status.success(), "{helm}: {}", text(&installed));
        let ns = "lab-plugin";
        fresh_namespace(ns).await;
        let out = run(&[
            "bigdata",
            "install",
            "--profile",
            "kafka",
            "--namespace",
            ns,
            "--timeout",
            "60s",
        ]);
        let log = text(&out);
        assert!(out.status.success(), "{helm}: {log}");
        assert!(
            log.contains(&format!("in namespace {ns}")),
            "{helm} did not pass --namespace: {log}"
        );
        let status = run(&["bigdata", "status", "--namespace", ns]);
        assert!(
            text(&status).contains("bigdata-kafka-bootstrap.lab-plugin.svc:9092"),
            "{}",
            text(&status)
        );
        let gone = run(&["bigdata", "uninstall", "--purge", "--namespace", ns]);
        assert!(gone.status.success(), "{}", text(&gone));
    }
}

/// On simulated nodes no container runs, so `verify` must say it could not verify and fail: never
/// report success for checks that did not run.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn verify_on_simulated_nodes_says_it_could_not_verify() {
    let ns = "lab-verify";
    fresh_namespace(ns).await;
    let install = bigdata(&[
        "install",
        "--profile",
        "kafka",
        "-n",
        ns,
        "--timeout",
        "60s",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    let out = bigdata(&["verify", "-n", ns, "--timeout", "60s"]);
    let log = text(&out);
    assert!(
        !out.status.success(),
        "verify succeeded on simulated nodes: {log}"
    );
    assert!(log.contains("could not verify"), "{log}");
    assert!(log.contains("simulated (kwok)"), "{log}");
    assert!(!log.contains(" ok "), "{log}");
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

/// The umbrella chart, as GitOps tools use it: one `helm install --wait` of charts/bigdata with a profile
/// as its values; every pod of every component becomes Ready.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_umbrella_chart_installs_a_profile_in_one_release() {
    let ns = "lab-umbrella";
    fresh_namespace(ns).await;
    let helm = helm_bin();
    let chart = repo().join("charts/bigdata");
    let run = |args: &[&str]| Command::new(&helm).args(args).output().unwrap();
    let deps = run(&["dependency", "build", chart.to_str().unwrap()]);
    assert!(deps.status.success(), "{}", text(&deps));
    let profile = repo().join("values/profiles/full.yaml");
    let install = run(&[
        "install",
        "bigdata",
        chart.to_str().unwrap(),
        "-n",
        ns,
        "--create-namespace",
        "-f",
        profile.to_str().unwrap(),
        "--wait",
        "--timeout",
        "180s",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    let client = Client::try_default().await.unwrap();
    let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client, ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let components: std::collections::BTreeSet<String> = pods
        .items
        .iter()
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get("app.kubernetes.io/name")
                .cloned()
        })
        .collect();
    for expected in ["mysql", "hdfs", "hive-metastore", "spark", "kafka"] {
        assert!(
            components.contains(expected),
            "no {expected} pod in {components:?}"
        );
    }
    let uninstall = run(&["uninstall", "bigdata", "-n", ns, "--wait"]);
    assert!(uninstall.status.success(), "{}", text(&uninstall));
}

/// Killing the plugin in the middle of an install and running it again completes the install: what
/// was done is kept (left alone when healthy), the rest is done.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn an_install_killed_midway_completes_when_run_again() {
    let ns = "lab-install-killed";
    fresh_namespace(ns).await;
    let values = std::env::temp_dir().join("bigdata-slow-metastore.yaml");
    std::fs::write(
        &values,
        "hive-metastore:\n  podAnnotations:\n    lab.bigdata.io/ready-delay: 8s\n",
    )
    .unwrap();
    let args = [
        "install",
        "--profile",
        "hdfs-hive-spark",
        "-n",
        ns,
        "--timeout",
        "90s",
        "-f",
        values.to_str().unwrap(),
    ];
    let mut first = plugin_command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // mysql and hdfs are ready within seconds; the metastore is held 8 s: kill while it waits.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    first.kill().unwrap();
    first.wait().unwrap();

    let again = bigdata(&args);
    let log = text(&again);
    assert!(again.status.success(), "{log}");
    assert!(log.contains("all 4 components are healthy"), "{log}");
    assert!(log.contains("mysql           unchanged and ready"), "{log}");
    bigdata(&["uninstall", "--purge", "-n", ns]);
}
