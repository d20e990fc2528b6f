use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use helm_bigdata::cli::{Cli, Command, OutputFormat};
use helm_bigdata::{cluster, doctor};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Doctor { output } => run_doctor(output).await,
    }
}

async fn run_doctor(output: OutputFormat) -> anyhow::Result<ExitCode> {
    let client = cluster::client().await?;
    let facts = doctor::gather(&client).await?;
    let checks = doctor::evaluate(&facts);
    match output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&checks).context("failed to encode the checks as JSON")?
        ),
        OutputFormat::Table => {
            println!("{:<24} {:<5} DETAIL", "CHECK", "RESULT");
            for check in &checks {
                let status = format!("{:?}", check.status).to_lowercase();
                println!("{:<24} {:<5} {}", check.name, status, check.detail);
            }
        }
    }
    let failed = checks.iter().any(|c| c.status == doctor::Status::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
