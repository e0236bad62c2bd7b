//! The `totpctl` binary: parse, run, print an error once, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = totpctl::cli::Cli::parse();
    let json = cli.global.json;
    match totpctl::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => totpctl::report(&err, json).into(),
    }
}
