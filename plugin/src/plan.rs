//! Profile values -> Plan: the Helm releases to install, their values, and the order between them.
//! Pure: no cluster, no files, no helm. Everything here is unit-tested.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_yaml::{Mapping, Value};
use thiserror::Error;

use crate::component::Component;

/// The platform name when the values do not set `global.platformName`.
pub const DEFAULT_PLATFORM: &str = "bigdata";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("unknown component {key:?} in the values: expected one of {}", Component::ALL.map(|c| c.chart()).join(", "))]
    UnknownComponent { key: String },
    #[error("{component} needs {needs}: set {needs}.enabled=true, or disable {component}")]
    MissingDependency {
        component: Component,
        needs: Component,
    },
    #[error("no component is enabled: set <component>.enabled=true for at least one of {}", Component::ALL.map(|c| c.chart()).join(", "))]
    Empty,
    #[error("{field} ({found}) must match {source_field} ({expected}): set {field}={expected}")]
    Mismatch {
        field: String,
        found: String,
        source_field: String,
        expected: String,
    },
    #[error("{field} must be {expected}")]
    BadValue {
        field: String,
        expected: &'static str,
    },
}

/// One Helm release of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    pub component: Component,
    /// `<platform>-<chart>`, e.g. `bigdata-hdfs`.
    pub name: String,
    /// The chart's directory name under `charts/`.
    pub chart: &'static str,
    /// The components that must be healthy before this release is installed.
    pub depends_on: Vec<Component>,
    /// The chart's values: the component's section of the profile plus `global`.
    pub values: Value,
}

impl Release {
    /// Whether this release's chart makes a PodMonitor on a cluster that serves the kind: its metrics are
    /// on (`metrics.enabled`) and `metrics.podMonitor.enabled` (on by default) does not turn it off. In
    /// Kafka's Strimzi mode it selects the operator's pods.
    pub fn wants_pod_monitor(&self) -> bool {
        let has_template = matches!(
            self.component,
            Component::Hdfs | Component::HiveMetastore | Component::Kafka
        );
        has_template
            && self.flag(&["metrics", "enabled"]) == Some(true)
            && self.flag(&["metrics", "podMonitor", "enabled"]) != Some(false)
    }

    /// Whether the release makes cluster-wide RBAC: the monitoring chart scraping the kubelets
    /// (`kubelet.enabled`).
    pub fn wants_kubelet_metrics(&self) -> bool {
        self.component == Component::Monitoring && self.flag(&["kubelet", "enabled"]) == Some(true)
    }

    /// The boolean at `path` in the release's values, when there is one.
    fn flag(&self, path: &[&str]) -> Option<bool> {
        path.iter()
            .try_fold(&self.values, |v, key| v.get(*key))
            .and_then(Value::as_bool)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub platform: String,
    /// In an order where every release comes after the ones it depends on.
    pub releases: Vec<Release>,
}

impl Plan {
    /// Builds the plan from merged profile values.
    pub fn build(values: &Value) -> Result<Plan, PlanError> {
        let root = values.as_mapping().cloned().unwrap_or_default();
        for key in root.keys() {
            let key = key.as_str().unwrap_or_default();
            if key != "global" && Component::from_chart(key).is_none() {
                return Err(PlanError::UnknownComponent {
                    key: key.to_string(),
                });
            }
        }
        let global = root
            .get("global")
            .cloned()
            .unwrap_or(Value::Mapping(Mapping::new()));
        let platform = match global.get("platformName") {
            None => DEFAULT_PLATFORM.to_string(),
            Some(Value::String(name)) if is_dns_label(name) => name.clone(),
            Some(_) => {
                return Err(PlanError::BadValue {
                    field: "global.platformName".into(),
                    expected: "a DNS label: lowercase letters, digits and '-', at most 40 characters",
                });
            }
        };
        let mut enabled = BTreeSet::new();
        for component in Component::ALL {
            if is_enabled(&root, component)? {
                enabled.insert(component);
            }
        }
        if enabled.is_empty() {
            return Err(PlanError::Empty);
        }
        check_hdfs_ha(&root, &enabled)?;
        let mut releases = Vec::new();
        // Component::ALL is already in dependency order (every component after its dependencies).
        for component in Component::ALL.into_iter().filter(|c| enabled.contains(c)) {
            for needs in component.depends_on() {
                if !enabled.contains(needs) {
                    return Err(PlanError::MissingDependency {
                        component,
                        needs: *needs,
                    });
                }
            }
            releases.push(Release {
                component,
                name: format!("{platform}-{}", component.chart()),
                chart: component.chart(),
                depends_on: component.depends_on().to_vec(),
                values: release_values(&root, component, &global),
            });
        }
        Ok(Plan { platform, releases })
    }

    /// The releases in waves: every release of a wave depends only on releases of earlier waves, so
    /// a wave's releases can be installed at the same time.
    pub fn waves(&self) -> Vec<Vec<Component>> {
        let mut waves: Vec<Vec<Component>> = Vec::new();
        let mut done = BTreeSet::new();
        let mut left: Vec<Component> = self.releases.iter().map(|r| r.component).collect();
        while !left.is_empty() {
            let (ready, blocked): (Vec<_>, Vec<_>) = left
                .into_iter()
                .partition(|c| c.depends_on().iter().all(|d| done.contains(d)));
            done.extend(ready.iter().copied());
            waves.push(ready);
            left = blocked;
        }
        waves
    }

    /// Every release that depends, directly or not, on `component`.
    pub fn dependents_of(&self, component: Component) -> Vec<Component> {
        let mut found = BTreeSet::from([component]);
        for release in &self.releases {
            if release.depends_on.iter().any(|d| found.contains(d)) {
                found.insert(release.component);
            }
        }
        found.remove(&component);
        found.into_iter().collect()
    }

    pub fn release(&self, component: Component) -> Option<&Release> {
        self.releases.iter().find(|r| r.component == component)
    }
}

fn is_enabled(root: &Mapping, component: Component) -> Result<bool, PlanError> {
    match root.get(component.chart()).and_then(|v| v.get("enabled")) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(PlanError::BadValue {
            field: format!("{}.enabled", component.chart()),
            expected: "true or false",
        }),
    }
}

/// The HDFS clients (metastore, Spark) must agree with HDFS on HA and its nameservice, or they would
/// talk to a NameNode address that does not exist.
fn check_hdfs_ha(root: &Mapping, enabled: &BTreeSet<Component>) -> Result<(), PlanError> {
    if !enabled.contains(&Component::Hdfs) {
        return Ok(());
    }
    let hdfs_ha = &root["hdfs"]["ha"];
    let ha = hdfs_ha["enabled"].as_bool().unwrap_or(false);
    let nameservice = hdfs_ha["nameservice"].as_str().unwrap_or("bigdata");
    for client in [Component::HiveMetastore, Component::Spark] {
        if !enabled.contains(&client) {
            continue;
        }
        let client_ha = &root[client.chart()]["hdfs"]["ha"];
        let found = client_ha["enabled"].as_bool().unwrap_or(false);
        if found != ha {
            return Err(PlanError::Mismatch {
                field: format!("{client}.hdfs.ha.enabled"),
                found: found.to_string(),
                source_field: "hdfs.ha.enabled".into(),
                expected: ha.to_string(),
            });
        }
        let found = client_ha["nameservice"].as_str().unwrap_or("bigdata");
        if ha && found != nameservice {
            return Err(PlanError::Mismatch {
                field: format!("{client}.hdfs.ha.nameservice"),
                found: found.into(),
                source_field: "hdfs.ha.nameservice".into(),
                expected: nameservice.into(),
            });
        }
    }
    Ok(())
}

fn release_values(root: &Mapping, component: Component, global: &Value) -> Value {
    let mut values = match root.get(component.chart()) {
        Some(Value::Mapping(m)) => m.clone(),
        _ => Mapping::new(),
    };
    values.remove("enabled");
    values.insert("global".into(), global.clone());
    Value::Mapping(values)
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).unwrap()
    }

    const FULL: &str = "
global: {storageClass: fast}
mysql: {enabled: true}
hdfs: {enabled: true, datanode: {replicas: 3}}
hive-metastore: {enabled: true}
spark: {enabled: true}
kafka: {enabled: true}
";

    #[test]
    fn the_full_profile_installs_in_three_waves() {
        let plan = Plan::build(&values(FULL)).unwrap();
        use Component::*;
        assert_eq!(
            plan.waves(),
            vec![vec![Mysql, Hdfs, Kafka], vec![HiveMetastore], vec![Spark]]
        );
        assert_eq!(plan.release(Hdfs).unwrap().name, "bigdata-hdfs");
    }

    #[test]
    fn each_release_gets_its_section_and_global_without_enabled() {
        let plan = Plan::build(&values(FULL)).unwrap();
        let hdfs = &plan.release(Component::Hdfs).unwrap().values;
        assert_eq!(hdfs["datanode"]["replicas"], Value::from(3));
        assert_eq!(hdfs["global"]["storageClass"], Value::from("fast"));
        assert!(hdfs.get("enabled").is_none());
    }

    #[test]
    fn a_failure_blocks_exactly_its_dependents() {
        let plan = Plan::build(&values(FULL)).unwrap();
        use Component::*;
        assert_eq!(plan.dependents_of(Mysql), vec![HiveMetastore, Spark]);
        assert_eq!(plan.dependents_of(Hdfs), vec![HiveMetastore, Spark]);
        assert!(plan.dependents_of(Kafka).is_empty());
    }

    #[test]
    fn the_platform_name_prefixes_every_release() {
        let plan = Plan::build(&values(
            "global: {platformName: lake}\nkafka: {enabled: true}",
        ))
        .unwrap();
        assert_eq!(plan.platform, "lake");
        assert_eq!(plan.releases[0].name, "lake-kafka");
    }

    #[test]
    fn bad_values_name_the_field_and_the_fix() {
        let cases = [
            ("kafak: {enabled: true}", "unknown component \"kafak\""),
            (
                "spark: {enabled: true}\nhdfs: {enabled: true}",
                "spark needs hive-metastore: set hive-metastore.enabled=true",
            ),
            ("mysql: {enabled: false}", "no component is enabled"),
            (
                "mysql: {enabled: yes please}",
                "mysql.enabled must be true or false",
            ),
            (
                "global: {platformName: Big_Data}\nmysql: {enabled: true}",
                "global.platformName must be a DNS label",
            ),
        ];
        for (yaml, expected) in cases {
            let error = Plan::build(&values(yaml)).unwrap_err().to_string();
            assert!(error.contains(expected), "{yaml}: {error}");
        }
    }

    #[test]
    fn a_pod_monitor_is_wanted_only_with_metrics_on_and_not_turned_off() {
        let plan = |text: &str| Plan::build(&serde_yaml::from_str(text).unwrap()).unwrap();
        let wanted = |plan: &Plan| -> Vec<Component> {
            plan.releases
                .iter()
                .filter(|r| r.wants_pod_monitor())
                .map(|r| r.component)
                .collect()
        };
        assert!(wanted(&plan("hdfs: {enabled: true}\nkafka: {enabled: true}")).is_empty());
        let on = plan(
            "mysql: {enabled: true, metrics: {enabled: true}}\n\
             hdfs: {enabled: true, metrics: {enabled: true}}\n\
             hive-metastore: {enabled: true, metrics: {enabled: true, podMonitor: {enabled: false}}}\n\
             kafka: {enabled: true, metrics: {enabled: true}, strimzi: {enabled: true}}",
        );
        // mysql's chart has no PodMonitor; the metastore's is turned off; in Strimzi mode, Kafka's selects the
        // operator's pods
        assert_eq!(wanted(&on), [Component::Hdfs, Component::Kafka]);
    }

    #[test]
    fn only_the_kubelet_scrape_needs_cluster_wide_rights() {
        let plan = |text: &str| Plan::build(&serde_yaml::from_str(text).unwrap()).unwrap();
        let wanted = |plan: &Plan| plan.releases.iter().any(Release::wants_kubelet_metrics);
        assert!(!wanted(&plan(
            "hdfs: {enabled: true}\nmonitoring: {enabled: true}"
        )));
        assert!(!wanted(&plan(
            "hdfs: {enabled: true, kubelet: {enabled: true}}"
        )));
        assert!(wanted(&plan(
            "hdfs: {enabled: true}\nmonitoring: {enabled: true, kubelet: {enabled: true}}"
        )));
    }
}
