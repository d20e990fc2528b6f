//! Runs a plan: each release as soon as everything it depends on is healthy, independent releases at
//! the same time (at most `concurrency` at once). A failed release blocks exactly its dependents.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::component::Component;
use crate::health::check::ComponentCheck;
use crate::health::wait::PodProblem;
use crate::plan::{Plan, Release};

/// How one release ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Installed or upgraded, and healthy.
    Installed {
        seconds: f64,
        checks: Vec<ComponentCheck>,
    },
    /// Already deployed with the same values and healthy: left alone.
    Unchanged {
        seconds: f64,
        checks: Vec<ComponentCheck>,
    },
    /// Failed to install, or not healthy in time.
    Failed {
        error: String,
        problems: Vec<PodProblem>,
    },
    /// Not started, because a release it depends on failed.
    Blocked { by: Component },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Installed { .. } | Outcome::Unchanged { .. })
    }

    pub fn installed_in(elapsed: Duration) -> Outcome {
        Outcome::Installed {
            seconds: elapsed.as_secs_f64(),
            checks: Vec::new(),
        }
    }
}

/// What the executor reports while it runs (for progress output).
#[derive(Debug, Clone)]
pub enum Progress {
    Started(Component),
    Finished(Component, Outcome),
}

/// Runs `step` for every release of `plan` in dependency order. `step` does the work for one release
/// (install, wait, check) and says how it went.
pub async fn execute<S, F>(
    plan: &Plan,
    concurrency: usize,
    step: S,
    mut progress: impl FnMut(Progress),
) -> BTreeMap<Component, Outcome>
where
    S: Fn(Release) -> F,
    F: Future<Output = Outcome> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let mut outcomes: BTreeMap<Component, Outcome> = BTreeMap::new();
    let mut pending: Vec<&Release> = plan.releases.iter().collect();
    let mut running = JoinSet::new();
    loop {
        // Block what depends on a failure; start what is ready, up to the limit.
        let mut still_pending = Vec::new();
        for release in pending {
            let failed_dependency = release
                .depends_on
                .iter()
                .find(|d| outcomes.get(d).is_some_and(|o| !o.is_success()));
            if let Some(by) = failed_dependency {
                let outcome = Outcome::Blocked { by: *by };
                progress(Progress::Finished(release.component, outcome.clone()));
                outcomes.insert(release.component, outcome);
            } else if running.len() < concurrency
                && release.depends_on.iter().all(|d| outcomes.contains_key(d))
            {
                progress(Progress::Started(release.component));
                let component = release.component;
                let work = step(release.clone());
                running.spawn(async move { (component, work.await) });
            } else {
                still_pending.push(release);
            }
        }
        pending = still_pending;
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (component, outcome) = joined.unwrap_or_else(|panic| {
            std::panic::resume_unwind(panic.into_panic());
        });
        progress(Progress::Finished(component, outcome.clone()));
        outcomes.insert(component, outcome);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use Component::*;

    fn full_plan() -> Plan {
        let values = serde_yaml::from_str(
            "mysql: {enabled: true}\nhdfs: {enabled: true}\nhive-metastore: {enabled: true}\nspark: {enabled: true}\nkafka: {enabled: true}",
        )
        .unwrap();
        Plan::build(&values).unwrap()
    }

    /// Each component takes its install time in seconds of (paused, simulated) tokio time: the
    /// original bundle's measured readiness times, scaled down. `fail` fails one component.
    fn timed_step(
        fail: Option<Component>,
    ) -> impl Fn(Release) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> {
        move |release: Release| {
            Box::pin(async move {
                let start = tokio::time::Instant::now();
                let seconds = match release.component {
                    Mysql => 2,
                    Hdfs => 6,
                    HiveMetastore => 18,
                    Spark => 3,
                    Kafka => 10,
                    Monitoring => 2,
                };
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                if Some(release.component) == fail {
                    Outcome::Failed {
                        error: "boom".into(),
                        problems: vec![],
                    }
                } else {
                    Outcome::installed_in(start.elapsed())
                }
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn independent_releases_run_together_and_the_total_is_the_critical_path() {
        let started = tokio::time::Instant::now();
        let mut order = Vec::new();
        let outcomes = execute(&full_plan(), 5, timed_step(None), |p| {
            if let Progress::Started(c) = p {
                order.push((c, started.elapsed().as_secs()));
            }
        })
        .await;
        assert!(outcomes.values().all(Outcome::is_success));
        // mysql, hdfs and kafka at once; the metastore when hdfs (the slower of its two) is ready at 6;
        // spark after the metastore at 6 + 18 = 24; all done at 27 = the critical path hdfs-hive-spark.
        assert_eq!(
            order,
            vec![
                (Mysql, 0),
                (Hdfs, 0),
                (Kafka, 0),
                (HiveMetastore, 6),
                (Spark, 24)
            ]
        );
        assert_eq!(started.elapsed().as_secs(), 27);
    }

    #[tokio::test(start_paused = true)]
    async fn a_concurrency_of_one_installs_one_at_a_time() {
        let started = tokio::time::Instant::now();
        execute(&full_plan(), 1, timed_step(None), |_| {}).await;
        assert_eq!(started.elapsed().as_secs(), 2 + 6 + 18 + 3 + 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_blocks_its_dependents_and_nothing_else() {
        let outcomes = execute(&full_plan(), 5, timed_step(Some(Hdfs)), |_| {}).await;
        assert!(matches!(outcomes[&Hdfs], Outcome::Failed { .. }));
        assert!(matches!(
            outcomes[&HiveMetastore],
            Outcome::Blocked { by: Hdfs }
        ));
        assert!(matches!(outcomes[&Spark], Outcome::Blocked { by: Hdfs }));
        assert!(outcomes[&Mysql].is_success());
        assert!(outcomes[&Kafka].is_success());
    }
}
