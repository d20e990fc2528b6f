//! `helm bigdata` against the lab: a real API server, real helm, real scheduler and controllers;
//! simulated nodes (kwok), so "healthy" here means the workloads are Ready as Kubernetes reports it,
//! not that the services answer (that is what `verify` and the native-service tests are for).
//!
//! Needs the lab and helm: `ci/lab up && eval "$(ci/lab env)"`, then
//! `cargo test -p helm-bigdata --test install -- --ignored` (ci/test does this).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

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

// Each profile installs, installs again without change, reports ready, and uninstalls with its claims: a test
// each, so that they run side by side (each in its own namespace; together well within the simulated nodes).
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn profile_hdfs_hive_spark_installs_resumes_and_uninstalls() {
    profile_installs_resumes_and_uninstalls("hdfs-hive-spark").await;
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn profile_kafka_installs_resumes_and_uninstalls() {
    profile_installs_resumes_and_uninstalls("kafka").await;
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn profile_full_installs_resumes_and_uninstalls() {
    profile_installs_resumes_and_uninstalls("full").await;
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn profile_ha_installs_resumes_and_uninstalls() {
    profile_installs_resumes_and_uninstalls("ha").await;
}

#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn profile_small_installs_resumes_and_uninstalls() {
    profile_installs_resumes_and_uninstalls("small").await;
}

async fn profile_installs_resumes_and_uninstalls(profile: &str) {
    let ns = format!("lab-profile-{profile}");
    fresh_namespace(&ns).await;
    let install = || {
        bigdata(&[
            "install",
            "--profile",
            profile,
            "-n",
            &ns,
            "--timeout",
            "120s",
        ])
    };
    let first = install();
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
    let again = install();
    let log = text(&again);
    assert!(again.status.success(), "{profile} again: {log}");
    assert!(
        !log.contains("ready in"),
        "{profile}: a release was installed again: {log}"
    );
    assert!(log.contains("unchanged and ready"), "{profile}: {log}");

    let status = bigdata(&["status", "-n", &ns, "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    // the table says the same: the usage columns, and every web UI with the port-forward that reaches it
    let table = text(&bigdata(&["status", "-n", &ns]));
    assert!(
        table.contains("CPU USED/REQUESTED") && table.contains("MEMORY USED/REQUESTED"),
        "{profile}: {table}"
    );
    for ui in rows
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["uis"].as_array().unwrap())
    {
        let command = ui["command"].as_str().unwrap();
        assert!(
            table.contains("REACH IT WITH") && table.contains(command),
            "{profile}: the table lacks {command:?}: {table}"
        );
    }
    for row in rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["installed"] == true)
    {
        let ready = row["ready"].as_str().unwrap();
        let (have, want) = ready.split_once('/').unwrap();
        assert_eq!(have, want, "{profile}: {row}");
        // CPU and memory: every running pod's requests; the lab's metrics API (metrics-server) measures none of
        // them, as no kubelet runs on the simulated nodes
        let usage = &row["usage"];
        assert_eq!(usage["pods"].to_string(), want, "{profile}: {row}");
        assert!(
            usage["cpu_requested_millis"].as_i64() > Some(0),
            "{profile}: {row}"
        );
        assert!(
            usage["memory_requested_bytes"].as_i64() > Some(0),
            "{profile}: {row}"
        );
        assert_eq!(usage["measured"], 0, "{profile}: {row}");
        // the web UIs, with the port-forward that reaches each, from the release's own Services
        let command = |name: &str| {
            row["uis"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["name"] == name)
                .map(|u| u["command"].as_str().unwrap().to_string())
        };
        match row["component"].as_str().unwrap() {
            "hdfs" => assert_eq!(
                command("HDFS NameNode").as_deref(),
                Some(
                    format!("kubectl -n {ns} port-forward svc/bigdata-hdfs-namenode 9870:9870")
                        .as_str()
                ),
                "{profile}: {row}"
            ),
            "spark" => assert_eq!(
                command("Spark history server").as_deref(),
                Some(
                    format!("kubectl -n {ns} port-forward svc/bigdata-spark-history 18080:18080")
                        .as_str()
                ),
                "{profile}: {row}"
            ),
            // the full profile runs Kafka Connect: its REST API
            "kafka" if profile == "full" => assert_eq!(
                command("Kafka Connect REST API").as_deref(),
                Some(
                    format!("kubectl -n {ns} port-forward svc/bigdata-kafka-connect 8083:8083")
                        .as_str()
                ),
                "{profile}: {row}"
            ),
            "monitoring" => {
                for (name, service, port) in [
                    ("Prometheus", "bigdata-prometheus", 9090),
                    ("Grafana", "bigdata-grafana", 3000),
                ] {
                    assert_eq!(
                        command(name),
                        Some(format!(
                            "kubectl -n {ns} port-forward svc/{service} {port}:{port}"
                        )),
                        "{profile}: {row}"
                    );
                }
            }
            _ => {}
        }
    }

    if profile == "full" {
        assert!(
            rows.as_array()
                .unwrap()
                .iter()
                .any(|r| r["component"] == "monitoring" && r["installed"] == true),
            "full installs the monitoring component: {rows}"
        );
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
    // 0/4 with the simulated nodes only, 0/5 with the lab's real node up too (tainted: not a candidate)
    assert!(
        log.contains("cannot be scheduled: 0/") && log.contains(" nodes are available: "),
        "{log}"
    );
    assert!(log.contains("4 Insufficient cpu"), "{log}");
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

/// `run` spreads a job over an Indexed Job of --parallelism pods, set up for the installed platform; on
/// simulated nodes the Job completes but no container ran, and `run` says so and fails.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn run_makes_an_indexed_job_and_says_no_container_ran_on_simulated_nodes() {
    let ns = "lab-run";
    fresh_namespace(ns).await;
    let compact = [
        "run",
        "compact",
        "--input",
        "/landing/bikes",
        "--table",
        "demo.bikes",
        "--kind",
        "bikes",
        "-n",
        ns,
    ];
    let out = bigdata(&[&compact[..], &["--parallelism", "3"]].concat());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("failed to find platform bigdata in namespace lab-run"),
        "{}",
        text(&out)
    );

    let install = bigdata(&[
        "install",
        "--profile",
        "hdfs-hive-spark",
        "-n",
        ns,
        "--timeout",
        "120s",
    ]);
    assert!(install.status.success(), "{}", text(&install));

    // --render prints the Job for kubectl apply, and creates nothing.
    let rendered = bigdata(&[&compact[..], &["--parallelism", "3", "--render"]].concat());
    assert!(rendered.status.success(), "{}", text(&rendered));
    let job: k8s_openapi::api::batch::v1::Job = serde_yaml::from_slice(&rendered.stdout).unwrap();
    let spec = job.spec.as_ref().unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(spec.completions, Some(3));
    let container = &spec.template.spec.as_ref().unwrap().containers[0];
    assert!(
        container
            .args
            .as_ref()
            .unwrap()
            .contains(&"--shards=3".to_string())
    );
    let env = container.env.as_ref().unwrap();
    assert!(env.iter().any(|e| e.name == "BIGDATA_METASTORE_URI"
        && e.value.as_deref() == Some("thrift://bigdata-hive-metastore:9083")));
    let client = Client::try_default().await.unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client, ns);
    let ours = ListParams::default().labels("app.kubernetes.io/name=bigdata-jobs");
    assert!(jobs.list(&ours).await.unwrap().items.is_empty());

    // Run: the API server accepts the Indexed Job, its 3 pods are scheduled and "succeed" on simulated
    // nodes, and run reports that nothing ran.
    let out = bigdata(
        &[
            &compact[..],
            &["--parallelism", "3", "--timeout", "90s", "-o", "json"],
        ]
        .concat(),
    );
    let log = text(&out);
    assert!(
        !out.status.success(),
        "run succeeded on simulated nodes: {log}"
    );
    assert!(log.contains("ran on simulated nodes (kwok)"), "{log}");
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["result"], "simulated");
    let indexes: Vec<&str> = outcome["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_str().unwrap())
        .collect();
    assert_eq!(indexes, ["0", "1", "2"]);
    let created = jobs.list(&ours).await.unwrap().items;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].status.as_ref().unwrap().succeeded, Some(3));

    // A job whose component is missing is refused before anything is created.
    let gone = bigdata(&["uninstall", "-n", ns]);
    assert!(gone.status.success(), "{}", text(&gone));
    let install = bigdata(&[
        "install",
        "--profile",
        "kafka",
        "-n",
        ns,
        "--timeout",
        "120s",
    ]);
    assert!(install.status.success(), "{}", text(&install));
    let out = bigdata(&[
        "run",
        "wordcount",
        "--input",
        "/in",
        "--output-dir",
        "/out",
        "-n",
        ns,
    ]);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(
        log.contains("failed to run wordcount: platform bigdata in namespace lab-run has no hdfs"),
        "{log}"
    );
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

/// `install -o json`: stdout is one JSON document (progress goes to stderr) with each release's
/// outcome and times; run again, every release is reported unchanged.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn install_json_reports_each_release_and_nothing_else_on_stdout() {
    let ns = "lab-install-json";
    fresh_namespace(ns).await;
    let args = [
        "install",
        "--profile",
        "hdfs-hive-spark",
        "-n",
        ns,
        "--timeout",
        "120s",
        "-o",
        "json",
    ];
    for expected in ["installed", "unchanged"] {
        let out = bigdata(&args);
        assert!(out.status.success(), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", text(&out)));
        assert_eq!(report["platform"], "bigdata");
        assert_eq!(report["namespace"], ns);
        assert_eq!(report["profile"], "hdfs-hive-spark");
        assert_eq!(report["healthy"], true);
        let releases = report["releases"].as_array().unwrap();
        let names: Vec<&str> = releases
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "bigdata-mysql",
                "bigdata-hdfs",
                "bigdata-hive-metastore",
                "bigdata-spark"
            ]
        );
        for release in releases {
            assert_eq!(release["outcome"], expected, "{release}");
            let started = release["started_at"].as_str().unwrap();
            let ready = release["ready_at"].as_str().unwrap();
            assert!(started <= ready, "{release}");
            assert!(release["seconds"].as_f64().unwrap() >= 0.0, "{release}");
            assert!(release["reason"].is_null(), "{release}");
        }
        // progress is for people, on stderr
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("-> mysql"),
            "{}",
            text(&out)
        );
    }
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

/// `install -o json` with a component that does not become healthy: it is `failed` with the reason
/// per pod, what depends on it `not-started`, the rest installed; the exit code is non-zero.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn install_json_reports_a_failure_and_the_releases_it_kept_from_starting() {
    let ns = "lab-install-json-crash";
    fresh_namespace(ns).await;
    let values = std::env::temp_dir().join("bigdata-json-crash-values.yaml");
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
        "-o",
        "json",
    ]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {log}"));
    assert_eq!(report["healthy"], false, "{report}");
    let release = |component: &str| {
        report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["component"] == component)
            .unwrap_or_else(|| panic!("no {component} in {report}"))
            .clone()
    };
    let hdfs = release("hdfs");
    assert_eq!(hdfs["outcome"], "failed", "{hdfs}");
    assert!(hdfs["started_at"].is_string(), "{hdfs}");
    assert!(hdfs["ready_at"].is_null(), "{hdfs}");
    assert!(
        hdfs["reason"]
            .as_str()
            .unwrap()
            .starts_with("not healthy after"),
        "{hdfs}"
    );
    let problems = hdfs["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["pod"] == "bigdata-hdfs-namenode-0"
                && p["detail"]
                    .as_str()
                    .unwrap()
                    .contains("container namenode is crash-looping")),
        "{hdfs}"
    );
    for blocked in ["hive-metastore", "spark"] {
        let r = release(blocked);
        assert_eq!(r["outcome"], "not-started", "{r}");
        assert_eq!(r["blocked_by"], "hdfs", "{r}");
        assert_eq!(r["reason"], "hdfs is not healthy", "{r}");
        assert!(r["started_at"].is_null(), "{r}");
    }
    for independent in ["mysql", "kafka"] {
        let r = release(independent);
        assert_eq!(r["outcome"], "installed", "{r}");
    }
    assert!(
        log.contains(
            "error: failed to install hdfs; not started because of it: hive-metastore, spark"
        ),
        "{log}"
    );
    bigdata(&["uninstall", "--purge", "-n", ns]);
}

/// The path of kubectl: $KUBECTL, else beside $HELM_BIN (ci/setup puts them together), else PATH.
fn kubectl_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return path.into();
    }
    let beside_helm = Path::new(&helm_bin()).with_file_name("kubectl");
    if beside_helm.is_file() {
        beside_helm
    } else {
        "kubectl".into()
    }
}

/// A fresh namespace with a ServiceAccount `account` bound to `role` (a Role made from `rules`, or
/// the ClusterRole named `cluster_role`); returns a kubeconfig that authenticates as that account
/// with a token from `kubectl create token`, on the lab's server and CA.
async fn kubeconfig_for_account(
    ns: &str,
    account: &str,
    rules: serde_json::Value,
    cluster_role: Option<&str>,
) -> PathBuf {
    fresh_namespace(ns).await;
    let client = Client::try_default().await.unwrap();
    let pp = PostParams::default();
    Api::<Namespace>::all(client.clone())
        .create(&pp, &object(json!({"metadata": {"name": ns}})))
        .await
        .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create(&pp, &object(json!({"metadata": {"name": account}})))
        .await
        .unwrap();
    let role_ref = match cluster_role {
        Some(name) => {
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name})
        }
        None => {
            Api::<Role>::namespaced(client.clone(), ns)
                .create(
                    &pp,
                    &object(json!({"metadata": {"name": account}, "rules": rules})),
                )
                .await
                .unwrap();
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account})
        }
    };
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(
            &pp,
            &object(json!({
                "metadata": {"name": account},
                "roleRef": role_ref,
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}]
            })),
        )
        .await
        .unwrap();
    let token = Command::new(kubectl_bin())
        .args(["create", "token", account, "-n", ns, "--duration", "1h"])
        .output()
        .expect("failed to run kubectl");
    assert!(token.status.success(), "{}", text(&token));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();

    let lab = kube::config::Kubeconfig::read().unwrap();
    let cluster = lab.clusters[0].cluster.clone().unwrap();
    let mut server = json!({"server": cluster.server.unwrap()});
    if let Some(path) = cluster.certificate_authority {
        server["certificate-authority"] = json!(path);
    }
    if let Some(data) = cluster.certificate_authority_data {
        server["certificate-authority-data"] = json!(data);
    }
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": server}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": "lab", "user": account}}],
        "current-context": account,
    });
    let path = std::env::temp_dir().join(format!("bigdata-{ns}-kubeconfig.json"));
    std::fs::write(&path, kubeconfig.to_string()).unwrap();
    path
}

fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("test object must match its type")
}

/// Runs the plugin as the account of `kubeconfig`.
fn bigdata_as(kubeconfig: &Path, args: &[&str]) -> Output {
    plugin_command(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("failed to run helm-bigdata")
}

/// No panic, no backtrace, no debug dump of the API server's Status: one clear message.
fn assert_clear(log: &str) {
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "Status {",
        "ErrorResponse",
        "ApiError:",
    ] {
        assert!(!log.contains(bad), "{bad:?} in: {log}");
    }
}

/// A user who may only read pods: doctor lists the missing permissions; install, status and uninstall
/// fail at once with one message that names the refused verb and resource and what to ask for.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_user_without_the_permissions_is_told_which_to_ask_for() {
    let ns = "lab-perm-reader";
    let rules = json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]);
    let kubeconfig = kubeconfig_for_account(ns, "reader", rules, None).await;
    let user = format!("user \"system:serviceaccount:{ns}:reader\"");

    let doctor = bigdata_as(&kubeconfig, &["doctor", "-n", ns]);
    let log = text(&doctor);
    assert!(!doctor.status.success(), "{log}");
    assert_clear(&log);
    assert!(log.contains(&format!("{user} lacks")), "{log}");
    assert!(
        log.contains("permission: secrets") && log.contains("may not get, list, watch, create"),
        "{log}"
    );
    assert!(log.contains("permission: pods/log"), "{log}");
    // what the Role grants is not reported missing
    assert!(
        log.contains("permission: pods ") && log.contains("may not watch"),
        "{log}"
    );

    let install = bigdata_as(&kubeconfig, &["install", "--profile", "small", "-n", ns]);
    let log = text(&install);
    assert!(!install.status.success(), "{log}");
    assert_clear(&log);
    assert!(
        log.contains(&format!(
            "error: failed to install in namespace \"{ns}\": forbidden: {user} lacks permissions"
        )),
        "{log}"
    );
    assert!(
        log.contains("  secrets: get, list, watch, create, update, patch, delete (helm keeps"),
        "{log}"
    );
    assert!(log.contains("docs/plugin.md#permissions"), "{log}");
    assert!(
        !log.contains("installing bigdata-"),
        "started anyway: {log}"
    );

    for args in [["status", "-n", ns], ["uninstall", "-n", ns]] {
        let out = bigdata_as(&kubeconfig, &args);
        let log = text(&out);
        assert!(!out.status.success(), "{args:?}: {log}");
        assert_clear(&log);
        assert!(
            log.contains(&format!(
                "forbidden: {user} cannot list resource \"secrets\" in API group \"\" in the namespace \"{ns}\"; \
                 the plugin needs list on secrets in namespace \"{ns}\""
            )),
            "{args:?}: {log}"
        );
        assert!(
            log.contains("ask your cluster admin for a Role granting it"),
            "{log}"
        );
    }
}

/// A namespace's own admin (the built-in ClusterRole `admin`, bound in the namespace only: no
/// cluster-wide rights) can check, install every component, and uninstall.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_namespace_admin_installs_without_cluster_wide_rights() {
    let ns = "lab-perm-admin";
    let kubeconfig = kubeconfig_for_account(ns, "deployer", json!([]), Some("admin")).await;

    let doctor = bigdata_as(&kubeconfig, &["doctor", "-n", ns]);
    let log = text(&doctor);
    assert!(doctor.status.success(), "{log}");
    assert!(log.contains("has the"), "{log}");
    assert!(log.contains("permission: nodes"), "{log}");

    // full scrapes the kubelets (monitoring.kubelet.enabled): a ClusterRole, refused before anything is installed
    let full = bigdata_as(&kubeconfig, &["install", "--profile", "full", "-n", ns]);
    let log = text(&full);
    assert!(!full.status.success(), "{log}");
    assert_clear(&log);
    assert!(
        log.contains("error: failed to install the monitoring component: forbidden:")
            && log.contains("lacks cluster-wide permissions that monitoring.kubelet.enabled needs")
            && log.contains("  clusterroles.rbac.authorization.k8s.io: get, list, watch, create")
            && log.contains("  nodes/metrics: get (")
            && log.contains("or set monitoring.kubelet.enabled=false"),
        "{log}"
    );
    assert!(
        !log.contains("installing bigdata-"),
        "started anyway: {log}"
    );

    let install = bigdata_as(
        &kubeconfig,
        &[
            "install",
            "--profile",
            "small",
            "-n",
            ns,
            "--timeout",
            "120s",
        ],
    );
    let log = text(&install);
    assert!(install.status.success(), "{log}");
    assert_clear(&log);
    assert!(log.contains("all 5 components are healthy"), "{log}");
    assert!(!log.contains("forbidden"), "a request was refused: {log}");
    // Spark's RBAC is asked with a LocalSubjectAccessReview, which the namespace's admin may create.
    assert!(
        log.contains("spark           ready in") && log.contains("checks: 1 passed"),
        "{log}"
    );

    let gone = bigdata_as(&kubeconfig, &["uninstall", "--purge", "-n", ns]);
    assert!(gone.status.success(), "{}", text(&gone));
}

/// The rules of the Role docs/plugin.md#permissions documents (plugin/rbac/role.yaml).
fn documented_role_rules() -> Vec<serde_json::Value> {
    let role: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("plugin/rbac/role.yaml")).unwrap(),
    )
    .unwrap();
    serde_json::from_value(serde_json::to_value(&role["rules"]).unwrap()).unwrap()
}

/// The Role docs/plugin.md#permissions documents (plugin/rbac/role.yaml) is enough for doctor to pass
/// and for every command: install of every component, status, uninstall --purge.
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn the_documented_role_is_enough_for_every_command() {
    let ns = "lab-perm-role";
    let kubeconfig = kubeconfig_for_account(ns, "ci", json!(documented_role_rules()), None).await;

    let doctor = bigdata_as(&kubeconfig, &["doctor", "-n", ns]);
    let log = text(&doctor);
    assert!(doctor.status.success(), "{log}");
    assert!(
        log.contains("permissions ") && log.contains("has the"),
        "{log}"
    );

    let install = bigdata_as(
        &kubeconfig,
        &[
            "install",
            "--profile",
            "small",
            "-n",
            ns,
            "--timeout",
            "120s",
        ],
    );
    let log = text(&install);
    assert!(install.status.success(), "{log}");
    assert!(log.contains("all 5 components are healthy"), "{log}");
    assert!(!log.contains("forbidden"), "a request was refused: {log}");
    let status = bigdata_as(&kubeconfig, &["status", "-n", ns]);
    assert!(status.status.success(), "{}", text(&status));
    // run: the Role cannot grant reading Nodes; the pods' own statuses tell that no container ran.
    let run = bigdata_as(
        &kubeconfig,
        &[
            "run",
            "wordcount",
            "--input",
            "/in",
            "--output-dir",
            "/out",
            "--parallelism",
            "2",
            "-n",
            ns,
            "--timeout",
            "90s",
        ],
    );
    let log = text(&run);
    assert!(!run.status.success(), "{log}");
    assert!(log.contains("ran on simulated nodes"), "{log}");
    assert!(!log.contains("forbidden"), "a request was refused: {log}");
    let gone = bigdata_as(&kubeconfig, &["uninstall", "--purge", "-n", ns]);
    let log = text(&gone);
    assert!(gone.status.success(), "{log}");
    assert!(log.contains("purged bigdata-mysql"), "{log}");
}

/// The Prometheus Operator's PodMonitor kind, as its CRD declares it (the schema left open): what the
/// charts need from a cluster to make PodMonitors. No operator runs in the lab; the kind is enough.
const POD_MONITOR_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: podmonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PodMonitor, listKind: PodMonitorList, plural: podmonitors, singular: podmonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// With the PodMonitor kind served, doctor says so, and a chart with metrics on makes a PodMonitor that
/// selects its pods' `metrics` port (helm sees the kind through discovery: .Capabilities).
#[tokio::test]
#[ignore = "needs the lab (ci/lab up)"]
async fn a_pod_monitor_is_made_when_the_cluster_serves_the_kind() {
    let mut apply = Command::new(kubectl_bin())
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    apply
        .stdin
        .take()
        .unwrap()
        .write_all(POD_MONITOR_CRD.as_bytes())
        .unwrap();
    assert!(apply.wait().unwrap().success(), "kubectl apply of the CRD");
    let established = Command::new(kubectl_bin())
        .args([
            "wait",
            "--for=condition=Established",
            "crd/podmonitors.monitoring.coreos.com",
            "--timeout=60s",
        ])
        .output()
        .unwrap();
    assert!(established.status.success(), "{}", text(&established));

    let doctor = bigdata(&["doctor"]);
    let log = text(&doctor);
    assert!(
        log.contains("prometheus operator")
            && log.contains("PodMonitor (monitoring.coreos.com/v1) served"),
        "{log}"
    );
    // the lab's metrics-server (ci/lab)
    assert!(
        log.contains("metrics api") && log.contains("PodMetrics (metrics.k8s.io/v1beta1) served"),
        "{log}"
    );

    // Before installing, a chart that would make a PodMonitor needs the permission for it: a Role without it
    // (the documented one, less its podmonitors rule) is told so, and nothing is installed.
    let perm_ns = "lab-perm-podmonitor";
    let without: Vec<serde_json::Value> = documented_role_rules()
        .into_iter()
        .filter(|r| !r["resources"].to_string().contains("podmonitors"))
        .collect();
    let kubeconfig = kubeconfig_for_account(perm_ns, "ci", json!(without), None).await;
    let install = bigdata_as(
        &kubeconfig,
        &[
            "install",
            "--profile",
            "hdfs-hive-spark",
            "-n",
            perm_ns,
            "--set",
            "hdfs.metrics.enabled=true",
        ],
    );
    let log = text(&install);
    assert!(!install.status.success(), "{log}");
    assert_clear(&log);
    assert!(
        log.contains(
            "podmonitors.monitoring.coreos.com: get, list, watch, create, update, patch, delete"
        ),
        "{log}"
    );
    assert!(
        !log.contains("installing bigdata-"),
        "started anyway: {log}"
    );

    let ns = "lab-install-podmonitor";
    fresh_namespace(ns).await;
    let chart = repo().join("charts/hdfs");
    let install = Command::new(helm_bin())
        .args(["install", "bigdata-hdfs"])
        .arg(&chart)
        .args([
            "-n",
            ns,
            "--create-namespace",
            "--set",
            "metrics.enabled=true",
        ])
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));
    let port = Command::new(kubectl_bin())
        .args([
            "get",
            "podmonitor",
            "bigdata-hdfs",
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.podMetricsEndpoints[0].port} {.spec.selector.matchExpressions[0].values}",
        ])
        .output()
        .unwrap();
    let got = text(&port);
    assert!(
        port.status.success() && got.starts_with("metrics ") && got.contains("namenode"),
        "{got}"
    );
    bigdata(&["uninstall", "--purge", "-n", ns]);
}
