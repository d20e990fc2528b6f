//! Commands and flags only: no behaviour lives here.

use clap::{Parser, Subcommand, ValueEnum};

/// Install, verify and inspect the bigdata platform (MySQL, HDFS, Hive metastore, Spark, Kafka).
#[derive(Debug, Parser)]
#[command(name = "helm bigdata", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the cluster before installing: reachable, Kubernetes version, nodes, a default StorageClass.
    Doctor {
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}
