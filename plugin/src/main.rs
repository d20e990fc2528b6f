use std::process::ExitCode;

use clap::Parser;
use helm_bigdata::app;
use helm_bigdata::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", app::error_text(&error));
            ExitCode::FAILURE
        }
    }
}
