//! The `totpctl` binary: parse, run, print an error once, exit with its code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use totpctl::cli::{Cli, generate_docs_command};

fn main() -> ExitCode {
    // The maintainers' generate-docs is added here, not in Cli, so that the
    // completions and man pages made from Cli never offer it.
    let mut command = Cli::command().subcommand(generate_docs_command());
    let matches = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(matches) => matches,
        Err(err) => return totpctl::report_usage(err).into(),
    };
    if let Some(("generate-docs", m)) = matches.subcommand() {
        return match totpctl::generate_docs(m) {
            Ok(exit) => exit.into(),
            Err(err) => totpctl::report(&err, false).into(),
        };
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return totpctl::report_usage(err.format(&mut command)).into(),
    };
    let json = cli.global.json;
    match totpctl::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => totpctl::report(&err, json).into(),
    }
}
