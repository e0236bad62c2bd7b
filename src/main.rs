//! The `totpctl` binary: parse, run, print an error once, exit with its code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match totpctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return totpctl::report_usage(err).into(),
    };
    let json = cli.global.json;
    match totpctl::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => totpctl::report(&err, json).into(),
    }
}
