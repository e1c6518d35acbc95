//! `scim-stack`: the launcher built as a binary of this crate, so the
//! end-to-end tests can run identity-svc, groups-svc and the gateway in
//! separate processes (`env!("CARGO_BIN_EXE_scim-stack")` names only
//! binaries of the crate under test). It takes the same flags as
//! `scim-server`.

use std::process::ExitCode;

use clap::Parser;
use launcher::{
    bootstrap,
    cli::{Cli, Command},
    run,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match plumbing::telemetry::init(&cli.telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("scim-stack: failed to start telemetry: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    let outcome = match cli.command.unwrap_or_default() {
        Command::Run(args) => run::run(args).await,
        Command::Bootstrap(args) => bootstrap::run_command(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scim-stack: {error:#}");
            ExitCode::FAILURE
        }
    }
}
