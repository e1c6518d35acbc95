//! `scim-server`: runs any set of the services in one process (all of them by
//! default) and bootstraps a demo workspace.

use clap::Parser;
use launcher::{
    bootstrap,
    cli::{Cli, Command},
    run,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match plumbing::telemetry::init(&cli.telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("scim-server: failed to start telemetry: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };

    let outcome = match cli.command.unwrap_or_default() {
        Command::Run(args) => run::run(args).await,
        Command::Bootstrap(args) => bootstrap::run_command(args).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "scim-server failed");
            eprintln!("scim-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
