//! `completions SHELL`, and the hidden `generate-docs` that writes the committed
//! completions/ and man/ from the one clap definition.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::output::Output;
use crate::base::error::{Exit, invalid};
use crate::cli::{Cli, CompletionsArgs, GenerateDocsArgs};

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
    // Built, so that the global options are part of every subcommand and each
    // subcommand's synopsis reads `totpctl verify …`.
    let mut cmd = Cli::command();
    cmd.build();
    let subcommands: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    write(
        &man.join("totpctl.1"),
        &man_page(&cmd, "totpctl", &subcommands)?,
    )?;
    for sub in &subcommands {
        let name = format!("totpctl-{}", sub.get_name());
        let page = (*sub).clone().display_name(name.clone());
        write(
            &man.join(format!("{name}.1")),
            &man_page(&page, &name, &[])?,
        )?;
    }
    Ok(Exit::Success)
}

/// One man page: clap_mangen's title, NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then
/// this program's own sections (COMMANDS on the top page; EXAMPLES, EXIT STATUS,
/// ENVIRONMENT, FILES, SEE ALSO on every page), so that no page refers to a page that
/// does not exist (clap's `help` subcommand has none).
fn man_page(cmd: &clap::Command, name: &str, subcommands: &[&clap::Command]) -> Result<Vec<u8>> {
    let page = clap_mangen::Man::new(cmd.clone()).title(name.to_ascii_uppercase());
    let mut w = Vec::new();
    page.render_title(&mut w)?;
    // No hyphenation: a hyphenated `totpctl-verify(1)` no longer reads as a page name.
    w.extend_from_slice(b".nh\n");
    page.render_name_section(&mut w)?;
    // The synopsis left-aligned: justified, `totpctl verify` would be torn apart.
    w.extend_from_slice(b".ad l\n");
    page.render_synopsis_section(&mut w)?;
    w.extend_from_slice(b".ad b\n");
    page.render_description_section(&mut w)?;
    page.render_options_section(&mut w)?;
    if !subcommands.is_empty() {
        w.extend_from_slice(b".SH COMMANDS\n");
        for sub in subcommands {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            w.extend_from_slice(
                format!(
                    ".TP\n\\fBtotpctl {}\\fR\n{}.\nSee \\fBtotpctl\\-{}\\fR(1).\n",
                    roff(sub.get_name()),
                    roff(about.trim_end_matches('.')),
                    roff(sub.get_name())
                )
                .as_bytes(),
            );
        }
    }
    let help = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let examples: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    if !examples.is_empty() {
        w.extend_from_slice(b".SH EXAMPLES\n.nf\n");
        for line in examples {
            w.extend_from_slice(format!("{}\n", roff(line.trim())).as_bytes());
        }
        w.extend_from_slice(b".fi\n");
    }
    w.extend_from_slice(COMMON_SECTIONS.as_bytes());
    w.extend_from_slice(b".SH \"SEE ALSO\"\n");
    let see_also: Vec<String> = if subcommands.is_empty() {
        vec!["totpctl".into()]
    } else {
        subcommands
            .iter()
            .map(|s| format!("totpctl-{}", s.get_name()))
            .collect()
    };
    let refs: Vec<String> = see_also
        .iter()
        .map(|p| format!("\\fB{}\\fR(1)", roff(p)))
        .collect();
    w.extend_from_slice(format!("{}\n", refs.join(",\n")).as_bytes());
    page.render_version_section(&mut w)?;
    Ok(w)
}

/// Text escaped for roff: backslashes and hyphens, and a line that would start with
/// a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// EXIT STATUS, ENVIRONMENT and FILES, the same on every page.
const COMMON_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
0
Success; for \fBverify\fR, the code was accepted.
.TP
1
\fBverify\fR: the code was rejected (incorrect, replayed, malformed).
.TP
2
An error: bad arguments or input, a store or key problem, a broken audit log.
.TP
3
\fBverify\fR: the account is locked out.
.TP
4
The account or id does not exist.
.SH ENVIRONMENT
.TP
\fBTOTPCTL_STORE\fR
The store to use, as \fB\-\-store\fR.
.TP
\fBTOTPCTL_KEY_FILE\fR
The key file that seals the secrets (default: the store's path with \fI.key\fR added).
.TP
\fBTOTPCTL_PASSPHRASE\fR
The passphrase of a passphrase\-protected store (else it is asked for).
.TP
\fBTOTPCTL_NEW_PASSPHRASE\fR
The new passphrase for \fBrekey\fR on a passphrase\-protected store.
.TP
\fBNO_COLOR\fR
Turns colour off, as \fB\-\-color never\fR.
.TP
\fBCOLUMNS\fR
The terminal width, when it cannot be measured (for the QR code of \fBenroll\fR).
.SH FILES
.TP
\fI$XDG_DATA_HOME/totpctl/totpctl.db\fR
The default store (by default \fI~/.local/share/totpctl/totpctl.db\fR), created
with its directory (0700) on first use; the file is 0600.
.TP
\fISTORE.key\fR
The key file beside the store, created 0600 with the first enrollment. Back it up
apart from the store: without it the secrets cannot be opened.
"#;

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
