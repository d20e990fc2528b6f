//! `helm bigdata profiles`: what each profile of the profiles directory is. The description and the
//! budget come from the profile's header comment; the components from its plan.
//!
//! A header looks like this (values/profiles/*.yaml):
//!
//! ```text
//! # Profile kafka: the streaming half. Kafka in KRaft mode (1 controller, 3 brokers) with the demo topics.
//! # budget: cpu=1 memory=4Gi
//! # (the sum of every pod's requests; ...)
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_yaml::Value;
use thiserror::Error;

use crate::component::Component;
use crate::plan::Plan;
use crate::quantity::{parse_millis, parse_units};

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error(
        "failed to read the profiles directory {}: {source}: pass --profiles-dir or set BIGDATA_PROFILES_DIR",
        dir.display()
    )]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "failed to find a profile in {} (no *.yaml file there): pass --profiles-dir or set BIGDATA_PROFILES_DIR",
        dir.display()
    )]
    Empty { dir: PathBuf },
}

/// One profile, as `profiles` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileSummary {
    pub name: String,
    /// One line: the description's first sentence, without asides in parentheses.
    pub summary: String,
    /// The header's description: its comment lines up to the first `# key: value` line.
    pub description: String,
    /// From `# budget: cpu=N memory=NGi`, when the header has one.
    pub budget: Option<Budget>,
    /// The components the profile installs, in install order.
    pub components: Vec<Component>,
}

/// The most a profile may request, summed over all its pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// As written: `2`, `1500m`.
    pub cpu: String,
    /// As written: `6Gi`.
    pub memory: String,
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} CPU, {} memory", self.cpu, self.memory)
    }
}

/// A profile's name, and its summary or the reason it cannot be summarized.
pub type Entry = (String, Result<ProfileSummary, String>);

/// Every `*.yaml` in `dir`, by name, each summarized or the reason it cannot be.
pub fn read(dir: &Path) -> Result<Vec<Entry>, CatalogError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CatalogError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(paths
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let summary = std::fs::read_to_string(path)
                .map_err(|e| format!("failed to read {}: {e}", path.display()))
                .and_then(|text| summarize(&name, &text));
            (name, summary)
        })
        .collect())
}

/// The summary of profile `name` from its file's text. Pure.
pub fn summarize(name: &str, text: &str) -> Result<ProfileSummary, String> {
    let header = Header::parse(text);
    let description = strip_title(name, &header.description.join(" "));
    let budget = header
        .field("budget")
        .map(parse_budget)
        .transpose()
        .map_err(|e| format!("profile {name}: {e}"))?;
    let values: Value = serde_yaml::from_str(text)
        .map_err(|e| format!("failed to parse profile {name} as YAML: {e}"))?;
    let plan = Plan::build(&values).map_err(|e| format!("failed to plan profile {name}: {e}"))?;
    Ok(ProfileSummary {
        name: name.to_string(),
        summary: first_sentence(&description),
        description,
        budget,
        components: plan.releases.iter().map(|r| r.component).collect(),
    })
}

/// The comment lines at the top of a profile: a description, then `key: value` fields.
#[derive(Debug, Default, PartialEq)]
struct Header<'a> {
    description: Vec<&'a str>,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Header<'a> {
    fn parse(text: &'a str) -> Header<'a> {
        let mut header = Header::default();
        for line in text.lines() {
            let Some(comment) = line.trim_start().strip_prefix('#') else {
                break;
            };
            let comment = comment.trim();
            if let Some(field) = as_field(comment) {
                header.fields.push(field);
            } else if header.fields.is_empty() && !comment.is_empty() {
                header.description.push(comment);
            }
        }
        header
    }

    fn field(&self, key: &str) -> Option<&'a str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// `budget: cpu=2 memory=6Gi` -> ("budget", "cpu=2 memory=6Gi"): a key is one lowercase word.
fn as_field(comment: &str) -> Option<(&str, &str)> {
    let (key, value) = comment.split_once(": ")?;
    let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-');
    is_key.then(|| (key, value.trim()))
}

/// Without the title `Profile <name>:` the descriptions start with.
fn strip_title(name: &str, description: &str) -> String {
    description
        .strip_prefix(&format!("Profile {name}:"))
        .unwrap_or(description)
        .trim()
        .to_string()
}

/// The first sentence (up to a `. ` outside parentheses), without asides in parentheses and the final
/// period.
fn first_sentence(text: &str) -> String {
    let mut sentence = String::new();
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '.' if depth == 0 && chars.peek().is_none_or(|n| n.is_whitespace()) => break,
            _ if depth == 0 => sentence.push(c),
            _ => {}
        }
    }
    sentence.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `cpu=2 memory=6Gi`.
fn parse_budget(text: &str) -> Result<Budget, String> {
    let bad =
        || format!("failed to read the budget {text:?}: expected `# budget: cpu=N memory=NGi`");
    let field = |key: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .ok_or_else(bad)
    };
    let cpu = field("cpu=")?;
    let memory = field("memory=")?;
    Ok(Budget {
        cpu_millis: parse_millis(cpu).map_err(|_| bad())?,
        memory_bytes: parse_units(memory).map_err(|_| bad())?,
        cpu: cpu.to_string(),
        memory: memory.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA: &str = "\
# Profile kafka: the streaming half. Kafka in KRaft mode (1 controller, 3 brokers) with the demo topics.
# budget: cpu=1 memory=4Gi
# (the sum of every pod's requests; checked by plugin/tests/profiles.rs)
global:
  platformName: bigdata
kafka:
  enabled: true
";

    #[test]
    fn a_profile_is_summarized_from_its_header_and_its_plan() {
        let summary = summarize("kafka", KAFKA).unwrap();
        assert_eq!(summary.summary, "the streaming half");
        assert_eq!(
            summary.description,
            "the streaming half. Kafka in KRaft mode (1 controller, 3 brokers) with the demo topics."
        );
        let budget = summary.budget.unwrap();
        assert_eq!((budget.cpu_millis, budget.memory_bytes), (1000, 4 << 30));
        assert_eq!(budget.to_string(), "1 CPU, 4Gi memory");
        assert_eq!(summary.components, vec![Component::Kafka]);
    }

    #[test]
    fn a_description_may_span_lines_and_the_summary_drops_asides() {
        let text = "\
# Profile small: every component, sized for a 4 CPU / 8 GiB laptop cluster (the original bundle needed
# 8 CPU / 16 GiB. Really.). One pod per role, small heaps.
# budget: cpu=2 memory=6Gi
mysql: {enabled: true}
";
        let summary = summarize("small", text).unwrap();
        assert_eq!(
            summary.summary,
            "every component, sized for a 4 CPU / 8 GiB laptop cluster"
        );
        assert!(
            summary
                .description
                .ends_with("One pod per role, small heaps.")
        );
    }

    #[test]
    fn the_components_come_from_the_plan_in_install_order() {
        let text = "spark: {enabled: true}\nhive-metastore: {enabled: true}\nhdfs: {enabled: true}\nmysql: {enabled: true}\n";
        let summary = summarize("batch", text).unwrap();
        use Component::*;
        assert_eq!(summary.components, vec![Mysql, Hdfs, HiveMetastore, Spark]);
    }

    #[test]
    fn a_profile_without_a_header_has_no_description_and_no_budget() {
        let summary = summarize("bare", "mysql: {enabled: true}\n").unwrap();
        assert_eq!(summary.summary, "");
        assert_eq!(summary.budget, None);
    }

    #[test]
    fn a_bad_budget_or_plan_says_which_profile_and_why() {
        let error = summarize("x", "# budget: cpu=lots\nmysql: {enabled: true}\n").unwrap_err();
        assert!(
            error.contains("expected `# budget: cpu=N memory=NGi`"),
            "{error}"
        );
        let error = summarize("x", "# Profile x: broken.\nspark: {enabled: true}\n").unwrap_err();
        assert!(
            error.starts_with("failed to plan profile x: spark needs"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_or_missing_directory_names_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("pass --profiles-dir or set BIGDATA_PROFILES_DIR"),
            "{error}"
        );
        let error = read(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(
            error.starts_with("failed to read the profiles directory"),
            "{error}"
        );
        assert!(error.contains("BIGDATA_PROFILES_DIR"), "{error}");
    }

    #[test]
    fn reading_a_directory_summarizes_every_yaml_file_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kafka.yaml"), KAFKA).unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "spark: {enabled: true}\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a profile").unwrap();
        let found = read(dir.path()).unwrap();
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["broken", "kafka"]);
        assert!(found[0].1.is_err());
        assert!(found[1].1.is_ok());
    }
}
