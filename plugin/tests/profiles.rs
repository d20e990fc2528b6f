//! Every profile plans, renders with helm (values valid against every chart's schema), and requests no
//! more than the budget written in its header (`# budget: cpu=N memory=NGi`).
//! Needs helm: `cargo test -p helm-bigdata --test profiles -- --ignored` with HELM_BIN set (ci/test).

use std::path::Path;
use std::process::Command;

use helm_bigdata::quantity::{parse_millis, parse_units};

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
