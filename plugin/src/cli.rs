//! Commands and flags only: no behaviour lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Install, verify and inspect the bigdata platform (MySQL, HDFS, Hive metastore, Spark, Kafka).
#[derive(Debug, Parser)]
#[command(name = "helm bigdata", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade the platform from a profile: one Helm release per component, in dependency
    /// order, independent ones at the same time, each waited for until healthy.
    Install(InstallArgs),
    /// List the profiles: each one's description, resource budget and the components it installs.
    Profiles {
        /// The directory of the profiles; default: `values/profiles` beside the plugin.
        #[arg(long, env = "BIGDATA_PROFILES_DIR")]
        profiles_dir: Option<PathBuf>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Print the plan of a profile: the releases, their order and the resources they request.
    Plan {
        #[command(flatten)]
        profile: ProfileArgs,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        /// Also write each release's values to DIR/<release>.yaml (for `helm install -f`, GitOps).
        #[arg(long, value_name = "DIR")]
        write_values: Option<PathBuf>,
    },
    /// Check the cluster before installing: reachable, Kubernetes version, nodes, a default
    /// StorageClass, and (with --profile) whether the profile's requests fit.
    Doctor {
        /// Also check that this profile fits the cluster.
        #[arg(long)]
        profile: Option<String>,
        #[command(flatten)]
        location: LocationArgs,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Run the verification Job (`bigdata-jobs verify`) in the cluster: real probes of every installed
    /// component, shown as a table. Exits non-zero if a check failed or nothing could be verified.
    Verify {
        #[command(flatten)]
        target: TargetArgs,
        /// The image of `bigdata-jobs` (built by `jobs/Dockerfile`).
        #[arg(long, env = "BIGDATA_JOBS_IMAGE", default_value = "bigdata/jobs:0.1.0")]
        image: String,
        /// How long the verification may take.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        timeout: Duration,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Run a batch job of `bigdata-jobs` in the cluster (wordcount, compact) as a Kubernetes Job set up for
    /// the installed platform, and wait for it; --parallelism N spreads it over N pods (an Indexed Job).
    Run {
        #[command(subcommand)]
        job: BatchJobArgs,
    },
    /// Print a shell completion script: `helm bigdata completion bash > /etc/bash_completion.d/helm-bigdata`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show each component: its release, chart version, readiness and endpoints.
    Status {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Uninstall the platform in reverse dependency order. PersistentVolumeClaims and Secrets are kept
    /// unless --purge.
    Uninstall {
        #[command(flatten)]
        target: TargetArgs,
        /// Also delete the PersistentVolumeClaims (all data) and the kept Secrets (passwords).
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// How long to wait for each component to become healthy (e.g. 300s, 10m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print the plan and validate every release's values against its chart, but change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many releases may be installed at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// table: progress and results for people. json, yaml: progress on stderr, and at the end one
    /// document on stdout with each release's outcome, times and reasons.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// The batch jobs of `helm bigdata run`.
#[derive(Debug, Subcommand)]
pub enum BatchJobArgs {
    /// Count the words of HDFS files into OUTPUT_DIR/part-r-00000 (sorted `word<TAB>count` lines).
    Wordcount {
        /// The input file or directory on the platform's HDFS: /path or hdfs://.../path.
        #[arg(long)]
        input: String,
        /// The output directory on the platform's HDFS (must not exist unless --overwrite); the job's
        /// --output (-o is the format of this command's own report).
        #[arg(long)]
        output_dir: String,
        /// Replace the output if it exists.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Turn the events `stream --land-dir` landed on HDFS into a Parquet table in the Hive metastore.
    Compact {
        /// The landing directory on the platform's HDFS: /path or hdfs://.../path.
        #[arg(long)]
        input: String,
        /// The table, DATABASE.TABLE (e.g. demo.bikes).
        #[arg(long)]
        table: String,
        /// Which demo's events the input holds.
        #[arg(long, value_parser = ["bikes", "stocks"])]
        kind: String,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// How and where `helm bigdata run` runs a job.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pods that share the work: above 1, an Indexed Job of that many completions, all at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: u32,
    /// The image of `bigdata-jobs` (built by `jobs/Dockerfile`).
    #[arg(long, env = "BIGDATA_JOBS_IMAGE", default_value = "bigdata/jobs:0.1.0")]
    pub image: String,
    /// How long the job may take (also its activeDeadlineSeconds).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print the Job as YAML (for `kubectl apply -f -`, GitOps) instead of running it.
    #[arg(long)]
    pub render: bool,
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The profile and the user's values on top of it.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The profile: a file values/profiles/<NAME>.yaml (hdfs-hive-spark, kafka, full, small, ha, ...).
    #[arg(long, short = 'p')]
    pub profile: String,
    /// A values file merged over the profile (repeatable; later ones win).
    #[arg(long = "values", short = 'f')]
    pub values: Vec<PathBuf>,
    /// A value merged over the profile and files: key.path=value (repeatable, or comma-separated).
    #[arg(long = "set")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub location: LocationArgs,
}

/// Where the namespace, charts and profiles are.
#[derive(Debug, Args)]
pub struct LocationArgs {
    /// The namespace (helm passes its own --namespace as HELM_NAMESPACE).
    #[arg(long, short = 'n', env = "HELM_NAMESPACE")]
    pub namespace: Option<String>,
    /// The directory of the charts; default: the `charts` directory beside the plugin.
    #[arg(long, env = "BIGDATA_CHARTS_DIR")]
    pub charts_dir: Option<PathBuf>,
    /// The directory of the profiles; default: `values/profiles` beside the plugin.
    #[arg(long, env = "BIGDATA_PROFILES_DIR")]
    pub profiles_dir: Option<PathBuf>,
}

/// Which installed platform.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The platform name (the prefix of every release: <platform>-mysql, ...).
    #[arg(long, default_value = crate::plan::DEFAULT_PLATFORM)]
    pub platform: String,
    #[command(flatten)]
    pub location: LocationArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

/// `90s`, `10m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: use e.g. 90s, 10m or 1h"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(format!(
                "{text:?} is not a duration: use e.g. 90s, 10m or 1h"
            ));
        }
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(
            parse_duration("ten minutes")
                .unwrap_err()
                .contains("use e.g. 90s")
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
