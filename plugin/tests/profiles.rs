//! Every profile plans, renders with helm (values valid against every chart's schema), and requests no
//! more than the budget written in its header (`# budget: cpu=N memory=NGi`).
//! Needs helm: `cargo test -p helm-bigdata --test profiles -- --ignored` with HELM_BIN set (ci/test).

use std::path::Path;
use std::process::Command;

use helm_bigdata::access;
use helm_bigdata::component::Component;
use helm_bigdata::quantity::{parse_millis, parse_units};
use serde::Deserialize;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// (cpu millis, memory bytes) from the profile's `# budget:` line.
fn budget(profile: &Path) -> (i64, i64) {
    let text = std::fs::read_to_string(profile).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# budget: "))
        .unwrap_or_else(|| {
            panic!(
                "{} has no '# budget: cpu=N memory=NGi' line",
                profile.display()
            )
        });
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("{}: budget line lacks {name}", profile.display()))
            .to_string()
    };
    (
        parse_millis(&field("cpu=")).unwrap(),
        parse_units(&field("memory=")).unwrap(),
    )
}

#[test]
#[ignore = "needs helm (ci/setup)"]
fn every_profile_fits_its_stated_budget() {
    let dir = repo().join("values/profiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_helm-bigdata"))
            .args(["plan", "--profile", &name, "-o", "json"])
            .env("BIGDATA_CHARTS_DIR", repo().join("charts"))
            .env("BIGDATA_PROFILES_DIR", &dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let cpu = plan["total"]["cpu_millis"].as_i64().unwrap();
        let memory = plan["total"]["memory_bytes"].as_i64().unwrap();
        let (max_cpu, max_memory) = budget(&path);
        assert!(cpu > 0 && memory > 0, "{name} requests nothing: {plan}");
        assert!(
            cpu <= max_cpu,
            "{name} requests {cpu}m CPU, over its budget of {max_cpu}m"
        );
        assert!(
            memory <= max_memory,
            "{name} requests {memory} bytes, over its budget of {max_memory}"
        );
        eprintln!(
            "{name}: {cpu}m CPU (budget {max_cpu}m), {} MiB (budget {} MiB)",
            memory >> 20,
            max_memory >> 20
        );
        checked += 1;
    }
    assert!(checked >= 5, "expected the five profiles, found {checked}");
}

#[test]
#[ignore = "needs helm (ci/setup)"]
fn the_small_profile_fits_a_4_cpu_8_gib_laptop() {
    let (cpu, memory) = budget(&repo().join("values/profiles/small.yaml"));
    assert!(cpu <= 4000 && memory <= 8 << 30);
}

/// `helm bigdata profiles -o json` lists every profile of values/profiles with a description, the
/// budget of its header and the components of its plan. Needs nothing but the binary.
#[test]
fn profiles_lists_each_profile_with_its_description_budget_and_components() {
    let out = Command::new(env!("CARGO_BIN_EXE_helm-bigdata"))
        .args(["profiles", "-o", "json"])
        .env("BIGDATA_PROFILES_DIR", repo().join("values/profiles"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["full", "ha", "hdfs-hive-spark", "kafka", "small"]);
    for profile in listed {
        let name = profile["name"].as_str().unwrap();
        assert!(
            !profile["summary"].as_str().unwrap().is_empty(),
            "{name} has no description line: {profile}"
        );
        let (cpu, memory) = budget(&repo().join(format!("values/profiles/{name}.yaml")));
        assert_eq!(profile["budget"]["cpu_millis"], cpu, "{profile}");
        assert_eq!(profile["budget"]["memory_bytes"], memory, "{profile}");
    }
    let kafka = &listed[3];
    assert_eq!(kafka["summary"], "the streaming half");
    assert_eq!(kafka["components"], serde_json::json!(["kafka"]));
    assert_eq!(
        listed[4]["components"],
        serde_json::json!(["mysql", "hdfs", "hive-metastore", "spark", "kafka"])
    );

    let table = Command::new(env!("CARGO_BIN_EXE_helm-bigdata"))
        .args(["profiles", "--profiles-dir", "/nonexistent/profiles"])
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&table.stderr);
    assert!(!table.status.success());
    assert!(
        error.contains("/nonexistent/profiles")
            && error.contains("--profiles-dir")
            && error.contains("BIGDATA_PROFILES_DIR"),
        "{error}"
    );
}

/// The plural resource RBAC names for a kind (`NetworkPolicy` -> `networkpolicies`).
fn resource_of(kind: &str) -> String {
    let lower = kind.to_lowercase();
    match lower.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{lower}s"),
    }
}

/// What the plugin asks for before installing (and doctor checks) covers every kind of object each
/// profile's charts create: helm creates, patches and deletes them.
#[test]
#[ignore = "needs helm (ci/setup)"]
fn the_permissions_asked_for_cover_every_kind_a_profile_renders() {
    let helm = std::env::var("HELM_BIN").unwrap_or_else(|_| "helm".into());
    for entry in std::fs::read_dir(repo().join("values/profiles")).unwrap() {
        let name = entry
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let values = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_helm-bigdata"))
            .args(["plan", "--profile", &name, "-o", "json", "--write-values"])
            .arg(values.path())
            .env("BIGDATA_CHARTS_DIR", repo().join("charts"))
            .env("BIGDATA_PROFILES_DIR", repo().join("values/profiles"))
            .env("HELM_BIN", &helm)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut components = Vec::new();
        for release in plan["releases"].as_array().unwrap() {
            let chart = release["component"].as_str().unwrap();
            components.push(Component::from_chart(chart).unwrap());
            let release_name = release["release"].as_str().unwrap();
            let rendered = Command::new(&helm)
                .args(["template", release_name])
                .arg(repo().join("charts").join(chart))
                .arg("--values")
                .arg(values.path().join(format!("{release_name}.yaml")))
                .arg("--skip-tests")
                .output()
                .unwrap();
            assert!(
                rendered.status.success(),
                "{}",
                String::from_utf8_lossy(&rendered.stderr)
            );
            let mut needed = access::needed(&components);
            // the monitoring chart's kubelet scrape: cluster-wide, asked of the cluster (app.rs prepare)
            let values: serde_yaml::Value = serde_yaml::from_str(
                &std::fs::read_to_string(values.path().join(format!("{release_name}.yaml")))
                    .unwrap(),
            )
            .unwrap();
            if chart == "monitoring" && values["kubelet"]["enabled"].as_bool() == Some(true) {
                needed.extend(access::kubelet_metrics_needed());
            }
            let text = String::from_utf8(rendered.stdout).unwrap();
            for document in serde_yaml::Deserializer::from_str(&text) {
                let object = serde_yaml::Value::deserialize(document).unwrap();
                let Some(kind) = object["kind"].as_str() else {
                    continue;
                };
                let api_version = object["apiVersion"].as_str().unwrap();
                let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
                let resource = resource_of(kind);
                let permission = needed
                    .iter()
                    .find(|p| p.group == group && p.resource == resource)
                    .unwrap_or_else(|| {
                        panic!("{name}: {chart} renders a {kind} ({api_version}), which plugin/src/access.rs does not ask for")
                    });
                for verb in ["get", "list", "create", "patch", "update", "delete"] {
                    assert!(
                        permission.verbs.contains(&verb),
                        "{name}: {chart} renders a {kind}, but access.rs does not ask to {verb} them"
                    );
                }
            }
        }
    }
}
