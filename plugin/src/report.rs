//! The result of an install as one document for machines (`install -o json|yaml`). Pure: built from
//! the plan and how each release went.

use std::collections::BTreeMap;

use k8s_openapi::jiff::{Timestamp, Unit};
use serde::Serialize;

use crate::component::Component;
use crate::execute::Outcome;
use crate::health::check::ComponentCheck;
use crate::health::reason::Reason;
use crate::install::Finished;
use crate::plan::Plan;

#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    pub platform: String,
    pub namespace: String,
    pub profile: String,
    /// True when every release is installed or unchanged, and healthy.
    pub healthy: bool,
    /// In install order.
    pub releases: Vec<ReleaseReport>,
}

/// How a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Installed or upgraded, and healthy.
    Installed,
    /// Already deployed with the same values and healthy: left alone.
    Unchanged,
    /// Failed to install, or not healthy in time.
    Failed,
    /// Not started, because a release it depends on is not healthy.
    NotStarted,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    pub name: String,
    pub component: Component,
    pub outcome: OutcomeKind,
    /// When its install started (RFC 3339, UTC); null when not started.
    pub started_at: Option<Timestamp>,
    /// When it was healthy; null unless installed or unchanged.
    pub ready_at: Option<Timestamp>,
    /// From start to healthy, or to failure; null when not started.
    pub seconds: Option<f64>,
    /// Why it failed or was not started; null otherwise.
    pub reason: Option<String>,
    /// The release whose failure kept this one from starting.
    pub blocked_by: Option<Component>,
    /// The pods that are not ready, and why (failed only).
    pub problems: Vec<ProblemReport>,
    /// The component's own checks (installed or unchanged).
    pub checks: Vec<ComponentCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemReport {
    pub pod: String,
    /// The reason in words, as the table output says it.
    pub detail: String,
    pub reason: Reason,
    pub log_tail: Vec<String>,
}

/// The report of an install of `plan` as `profile` into `namespace`.
pub fn build(
    plan: &Plan,
    namespace: &str,
    profile: &str,
    finished: &BTreeMap<Component, Finished>,
) -> InstallReport {
    let releases: Vec<ReleaseReport> = plan
        .releases
        .iter()
        .map(|r| release(&r.name, r.component, finished.get(&r.component)))
        .collect();
    InstallReport {
        platform: plan.platform.clone(),
        namespace: namespace.to_string(),
        profile: profile.to_string(),
        healthy: releases
            .iter()
            .all(|r| matches!(r.outcome, OutcomeKind::Installed | OutcomeKind::Unchanged)),
        releases,
    }
}

fn release(name: &str, component: Component, finished: Option<&Finished>) -> ReleaseReport {
    let mut report = ReleaseReport {
        name: name.to_string(),
        component,
        outcome: OutcomeKind::NotStarted,
        started_at: None,
        ready_at: None,
        seconds: None,
        reason: None,
        blocked_by: None,
        problems: Vec::new(),
        checks: Vec::new(),
    };
    let Some(finished) = finished else {
        return report;
    };
    report.started_at = finished.started_at.map(to_millis);
    report.seconds = finished.started_at.map(|started| {
        let seconds = finished.finished_at.duration_since(started).as_secs_f64();
        (seconds * 1000.0).round() / 1000.0
    });
    match &finished.outcome {
        Outcome::Installed { checks, .. } | Outcome::Unchanged { checks, .. } => {
            report.outcome = if matches!(finished.outcome, Outcome::Installed { .. }) {
                OutcomeKind::Installed
            } else {
                OutcomeKind::Unchanged
            };
            report.ready_at = Some(to_millis(finished.finished_at));
            report.checks = checks.clone();
        }
        Outcome::Failed { error, problems } => {
            report.outcome = OutcomeKind::Failed;
            report.reason = Some(error.clone());
            report.problems = problems
                .iter()
                .map(|p| ProblemReport {
                    pod: p.pod.clone(),
                    detail: p.reason.to_string(),
                    reason: p.reason.clone(),
                    log_tail: p.log_tail.clone(),
                })
                .collect();
        }
        Outcome::Blocked { by } => {
            report.reason = Some(format!("{by} is not healthy"));
            report.blocked_by = Some(*by);
        }
    }
    report
}

/// Timestamps to the millisecond: enough for an install, and easier to read.
fn to_millis(t: Timestamp) -> Timestamp {
    t.round(Unit::Millisecond).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::wait::PodProblem;

    fn plan() -> Plan {
        let values = serde_yaml::from_str(
            "mysql: {enabled: true}\nhdfs: {enabled: true}\nhive-metastore: {enabled: true}\nkafka: {enabled: true}",
        )
        .unwrap();
        Plan::build(&values).unwrap()
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn ran(outcome: Outcome, started: Option<i64>, finished: i64) -> Finished {
        Finished {
            outcome,
            started_at: started.map(at),
            finished_at: at(finished),
        }
    }

    #[test]
    fn each_release_says_how_it_ended_and_when() {
        let finished = BTreeMap::from([
            (
                Component::Mysql,
                ran(Outcome::installed_in(Default::default()), Some(0), 4),
            ),
            (
                Component::Kafka,
                ran(
                    Outcome::Unchanged {
                        seconds: 1.0,
                        checks: vec![],
                    },
                    Some(0),
                    1,
                ),
            ),
            (
                Component::Hdfs,
                ran(
                    Outcome::Failed {
                        error: "not healthy after 18s".into(),
                        problems: vec![PodProblem {
                            pod: "bigdata-hdfs-namenode-0".into(),
                            reason: Reason::Unschedulable {
                                message: "0/4 nodes are available".into(),
                            },
                            log_tail: vec![],
                        }],
                    },
                    Some(0),
                    18,
                ),
            ),
            (
                Component::HiveMetastore,
                ran(
                    Outcome::Blocked {
                        by: Component::Hdfs,
                    },
                    None,
                    18,
                ),
            ),
        ]);
        let report = build(&plan(), "data", "full", &finished);
        assert!(!report.healthy);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["platform"], "bigdata");
        let releases = json["releases"].as_array().unwrap();
        let by_component = |c: &str| {
            releases
                .iter()
                .find(|r| r["component"] == c)
                .unwrap_or_else(|| panic!("no {c} in {json}"))
        };
        let mysql = by_component("mysql");
        assert_eq!(mysql["name"], "bigdata-mysql");
        assert_eq!(mysql["outcome"], "installed");
        assert_eq!(mysql["started_at"], "2027-01-15T08:00:00Z");
        assert_eq!(mysql["ready_at"], "2027-01-15T08:00:04Z");
        assert_eq!(mysql["seconds"], 4.0);
        assert_eq!(mysql["reason"], serde_json::Value::Null);
        assert_eq!(by_component("kafka")["outcome"], "unchanged");
        let hdfs = by_component("hdfs");
        assert_eq!(hdfs["outcome"], "failed");
        assert_eq!(hdfs["ready_at"], serde_json::Value::Null);
        assert_eq!(hdfs["seconds"], 18.0);
        assert_eq!(hdfs["reason"], "not healthy after 18s");
        assert_eq!(
            hdfs["problems"][0]["detail"],
            "cannot be scheduled: 0/4 nodes are available"
        );
        let metastore = by_component("hive-metastore");
        assert_eq!(metastore["outcome"], "not-started");
        assert_eq!(metastore["blocked_by"], "hdfs");
        assert_eq!(metastore["reason"], "hdfs is not healthy");
        assert_eq!(metastore["started_at"], serde_json::Value::Null);
        // in install order
        let order: Vec<&str> = releases
            .iter()
            .map(|r| r["component"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["mysql", "hdfs", "hive-metastore", "kafka"]);
    }

    #[test]
    fn all_healthy_is_healthy() {
        let finished: BTreeMap<Component, Finished> = plan()
            .releases
            .iter()
            .map(|r| {
                (
                    r.component,
                    ran(Outcome::installed_in(Default::default()), Some(0), 1),
                )
            })
            .collect();
        assert!(build(&plan(), "data", "full", &finished).healthy);
    }
}
