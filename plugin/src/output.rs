//! What the user sees while the plugin works: spinners on a terminal, plain lines otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::component::Component;
use crate::execute::Outcome;
use crate::health::check::{CheckResult, ComponentCheck};
use crate::health::reason::Reason;
use crate::health::wait::PodProblem;

pub struct Progress {
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<Component, ProgressBar>>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Spinners when stderr is a terminal, plain lines otherwise (CI logs, pipes).
    pub fn new() -> Progress {
        let multi = std::io::stderr().is_terminal().then(MultiProgress::new);
        Progress {
            multi,
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn started(&self, component: Component, what: &str) {
        match &self.multi {
            Some(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<15} {msg} ({elapsed})")
                        .expect("valid template"),
                );
                bar.set_prefix(component.to_string());
                bar.set_message(what.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bars
                    .lock()
                    .expect("progress lock")
                    .insert(component, bar);
            }
            None => eprintln!("-> {component:<15} {what}"),
        }
    }

    pub fn finished(&self, component: Component, outcome: &Outcome) {
        let line = describe(outcome);
        let bar = self.bars.lock().expect("progress lock").remove(&component);
        match bar {
            Some(bar) => bar.finish_with_message(line),
            None => match &self.multi {
                Some(multi) => {
                    let _ = multi.println(format!("  {component:<15} {line}"));
                }
                None => eprintln!("   {component:<15} {line}"),
            },
        }
    }
}

/// One line for an outcome, then one indented line per pod problem.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Installed { seconds, checks } => {
            format!("ready in {seconds:.1}s{}", summarize(checks))
        }
        Outcome::Unchanged { seconds, checks } => {
            format!("unchanged and ready ({seconds:.1}s){}", summarize(checks))
        }
        Outcome::Blocked { by } => format!("not started: {by} is not healthy"),
        Outcome::Failed { error, problems } => {
            format!("FAILED: {error}{}", pod_problems(problems))
        }
    }
}

/// One line per failed Job and pod that is not ready, and its log tail: `\n      pod x: reason\n        | line`.
pub fn pod_problems(problems: &[PodProblem]) -> String {
    let mut text = String::new();
    for p in problems {
        match p.reason {
            Reason::JobFailed { .. } => text.push_str(&format!("\n      {}", p.reason)),
            _ => text.push_str(&format!("\n      pod {}: {}", p.pod, p.reason)),
        }
        for line in &p.log_tail {
            text.push_str(&format!("\n        | {line}"));
        }
    }
    text
}

/// `; checks: 1 passed, 1 skipped (pod x is on simulated node y: ...)`, or nothing without checks.
fn summarize(checks: &[ComponentCheck]) -> String {
    if checks.is_empty() {
        return String::new();
    }
    let passed = checks
        .iter()
        .filter(|c| matches!(c.result, CheckResult::Passed { .. }))
        .count();
    let skipped: Vec<&str> = checks
        .iter()
        .filter_map(|c| match &c.result {
            CheckResult::Skipped { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    let mut text = format!("; checks: {passed} passed");
    if !skipped.is_empty() {
        text.push_str(&format!(", {} not run ({})", skipped.len(), skipped[0]));
    }
    text
}
