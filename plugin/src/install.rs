//! `helm bigdata install`: run the plan with helm, wait for each release with watches, and resume
//! safely (a release already deployed with the same values is left alone).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::Client;

use crate::component::Component;
use crate::execute::{Outcome, Progress as Step, execute};
use crate::health::check::{self, CheckResult};
use crate::health::wait::{Readiness, failed_jobs, problems, wait_ready};
use crate::helm::Helm;
use crate::output::Progress;
use crate::plan::{Plan, Release};

pub struct Installer {
    pub helm: Helm,
    pub client: Client,
    pub charts_dir: PathBuf,
    pub timeout: Duration,
}

/// How one release went, and when.
#[derive(Debug, Clone)]
pub struct Finished {
    pub outcome: Outcome,
    /// When its install started; None when it was not started.
    pub started_at: Option<Timestamp>,
    /// When it was healthy, failed, or was found blocked.
    pub finished_at: Timestamp,
}

impl Installer {
    /// Installs every release of the plan; returns how each went, and when.
    pub async fn run(
        self,
        plan: &Plan,
        concurrency: usize,
        progress: &Progress,
    ) -> BTreeMap<Component, Finished> {
        let this = Arc::new(self);
        let mut started = BTreeMap::new();
        let mut finished = BTreeMap::new();
        let outcomes = execute(
            plan,
            concurrency,
            |release| {
                let this = this.clone();
                async move { this.install_one(release).await }
            },
            |step| match step {
                Step::Started(c) => {
                    started.insert(c, Timestamp::now());
                    progress.started(c, &format!("installing {}-{}", plan.platform, c.chart()));
                }
                Step::Finished(c, outcome) => {
                    finished.insert(c, Timestamp::now());
                    progress.finished(c, &outcome);
                }
            },
        )
        .await;
        outcomes
            .into_iter()
            .map(|(c, outcome)| {
                let ran = Finished {
                    outcome,
                    started_at: started.get(&c).copied(),
                    finished_at: finished.get(&c).copied().unwrap_or_else(Timestamp::now),
                };
                (c, ran)
            })
            .collect()
    }

    async fn install_one(&self, release: Release) -> Outcome {
        let started = Instant::now();
        let namespace = self.helm.namespace();
        let unchanged = match self.is_deployed_with_same_values(&release).await {
            // A failed Job (a hook, a schema Job) never runs again by itself: upgrade to run it anew.
            Ok(true) => match failed_jobs(&self.client, namespace, &release.name).await {
                Ok(failed) => failed.is_empty(),
                Err(error) => return failed(error.to_string()),
            },
            Ok(false) => false,
            Err(error) => return failed(error.to_string()),
        };
        if !unchanged {
            let chart = self.charts_dir.join(release.chart);
            if let Err(error) = self
                .helm
                .upgrade_install(&release.name, &chart, &release.values, self.timeout)
                .await
            {
                // helm gave up (its own wait for a hook, say): the pods and Jobs tell why.
                return Outcome::Failed {
                    error: error.to_string(),
                    problems: problems(&self.client, namespace, &release.name)
                        .await
                        .unwrap_or_default(),
                };
            }
        }
        let left = self.timeout.saturating_sub(started.elapsed());
        match wait_ready(&self.client, namespace, &release.name, left).await {
            Ok(Readiness::Ready) => {}
            Ok(Readiness::NotReady { waited, problems }) => {
                return Outcome::Failed {
                    error: format!("not healthy after {}s", waited.as_secs()),
                    problems,
                };
            }
            Err(error) => return failed(error.to_string()),
        }
        // Ready pods are not enough: the component's own check must pass too.
        let platform = release
            .name
            .trim_end_matches(release.chart)
            .trim_end_matches('-');
        let checks = check::run(&self.client, namespace, platform, release.component).await;
        if let Some(bad) = checks
            .iter()
            .find(|c| matches!(c.result, CheckResult::Failed { .. }))
        {
            let CheckResult::Failed { detail } = &bad.result else {
                unreachable!()
            };
            return failed(format!("check \"{}\" failed: {detail}", bad.name));
        }
        let seconds = started.elapsed().as_secs_f64();
        if unchanged {
            Outcome::Unchanged { seconds, checks }
        } else {
            Outcome::Installed { seconds, checks }
        }
    }

    /// True when the release is deployed with exactly these values (nothing to do). A release left
    /// half-done by an interrupted run (pending-install/upgrade/rollback: helm refuses to touch it) is
    /// repaired first: a first install is removed, an upgrade rolled back; then it is installed again.
    async fn is_deployed_with_same_values(
        &self,
        release: &Release,
    ) -> Result<bool, crate::helm::HelmError> {
        match self.helm.status(&release.name).await? {
            Some(status) if status.info.status == "deployed" => {
                Ok(self.helm.user_values(&release.name).await? == release.values)
            }
            Some(status) if status.info.status == "pending-install" => {
                self.helm.uninstall(&release.name).await?;
                Ok(false)
            }
            Some(status) if status.info.status.starts_with("pending-") => {
                self.helm.rollback(&release.name).await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

fn failed(error: String) -> Outcome {
    Outcome::Failed {
        error,
        problems: Vec::new(),
    }
}
