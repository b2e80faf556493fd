//! The `keyward` binary: see `keyward --help`.

use std::process::ExitCode;

use clap::Parser;
use keyward_server::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyward: {e:#}");
            ExitCode::FAILURE
        }
    }
}
