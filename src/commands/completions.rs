//! `completions SHELL`, and the hidden `generate-docs` that writes the committed
//! completions/ and man/ from the one clap definition.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs, GenerateDocsArgs};
use crate::error::{Exit, invalid};
use crate::output::Output;

pub fn run(args: &CompletionsArgs, out: &Output) -> Result<Exit> {
    if out.json {
        // A script is not JSON; printing one with --json would break the promise of
        // exactly one JSON value on stdout.
        return Err(invalid(
            "completions prints a shell script, not JSON: leave out --json",
        ));
    }
    // Generated into memory first: clap_complete panics when its writer fails, and a
    // closed pipe (`totpctl completions zsh | head`) must end quietly instead.
    let mut bytes = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "totpctl", &mut bytes);
    let mut w = out.stdout();
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(Exit::Success)
}

/// The shells whose scripts are committed, and their file names.
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "totpctl.bash"),
    (Shell::Zsh, "_totpctl"),
    (Shell::Fish, "totpctl.fish"),
    (Shell::Elvish, "totpctl.elv"),
    (Shell::PowerShell, "_totpctl.ps1"),
];

pub fn generate_docs(args: &GenerateDocsArgs) -> Result<Exit> {
    let completions = args.out.join("completions");
    let man = args.out.join("man");
    for dir in [&completions, &man] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (shell, file) in SHELLS {
        let mut bytes = Vec::new();
        clap_complete::generate(*shell, &mut Cli::command(), "totpctl", &mut bytes);
        write(&completions.join(file), &bytes)?;
    }
    let cmd = Cli::command();
    let mut bytes = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut bytes)?;
    write(&man.join("totpctl.1"), &bytes)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("totpctl-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).display_name(name.clone());
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page).render(&mut bytes)?;
        write(&man.join(format!("{name}.1")), &bytes)?;
    }
    Ok(Exit::Success)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
