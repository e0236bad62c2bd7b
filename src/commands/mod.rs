//! The command line, a front end of the operations (`crate::ops`): each subcommand
//! has a module here with `run(args, ctx) -> Result<Exit>` that turns its arguments
//! into an operation's inputs, prompts when it must, calls the operation and prints
//! what it returns, for people or as JSON (`output.rs`). This file picks the
//! subcommand, reports an error once, and holds the prompts every command shares.

pub mod backup_codes;
pub mod completions;
pub mod config;
pub mod copy;
mod ctx;
pub mod enroll;
pub mod import;
pub mod import_ga;
pub mod info;
pub mod list;
pub mod log;
pub mod output;
pub mod rekey;
pub mod remove;
pub mod serve;
pub mod token;
pub mod unlock;
pub mod upgrade;
pub mod verify;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use chrono::Utc;

use crate::base::error::{Error, Exit, invalid};
use crate::cli::{self, Cli, Command};
use crate::domain::actor::Actor;
use crate::ops::{self, Context, Local};
use crate::store::{self, Location};
use ctx::Ctx;
use output::Output;

/// The store used without --store: `totpctl.db` in the per-user data directory.
pub fn default_store_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "totpctl").ok_or_else(|| {
        invalid("cannot find a home directory for the default store: pass --store PATH")
    })?;
    Ok(dirs.data_dir().join("totpctl.db"))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit> {
    let out = Output::new(cli.global.json, cli.global.color);
    // Commands that do not touch a store do not resolve one.
    if let Command::Completions(args) = &cli.command {
        return completions::run(args, &out);
    }
    let access = access(&cli)?;
    let (store_path, store_arg) = match cli.global.store.clone() {
        Some(p) if p.as_os_str().is_empty() => return Err(invalid("--store is empty")),
        Some(p) => {
            // Named, but the default all the same: hints need not repeat it.
            let is_default = default_store_path().is_ok_and(|d| d == p);
            (p.clone(), (!is_default).then_some(p))
        }
        None => (default_store_path()?, None),
    };
    if let Some(url) = store_path.to_str().filter(|s| ops::is_remote(s)) {
        return run_remote(&cli, url, store_arg, access, out);
    }
    let location = Location::parse(&store_path, &access)?;
    // From here on the store is named by its label: a URL loses its password.
    let store_path = location.label();
    let store_arg = store_arg.map(|_| store_path.clone());
    let interactive = !cli.global.json && io::stdin().is_terminal();
    if let Command::Serve(args) = &cli.command {
        return serve::run(args, location, access, &out, interactive);
    }
    let wait = access.wait();
    let mut ctx = Ctx {
        store_path,
        out,
        cx: Context {
            now: Utc::now(),
            actor: Actor::current(),
            interactive,
            store_arg,
        },
        ops: Box::new(Local::new(location, access)),
    };
    // verify has one deadline, retries included.
    let _watchdog = matches!(cli.command, Command::Verify(_)).then(|| {
        verify::Watchdog::start(
            wait.div_f64(0.8),
            ctx.out.json,
            ctx.store_path.display().to_string(),
        )
    });
    // A transaction that lost a conflict on a server (serialization failure,
    // deadlock) was rolled back whole and printed nothing: run it again, a bounded
    // number of times, so that no such error reaches the user.
    let mut attempt = 0;
    loop {
        match dispatch(&cli.command, &mut ctx) {
            Err(e) if store::is_retryable(&e) && attempt < MAX_RETRIES => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(
                    10 * (1 << attempt) + u64::from(std::process::id() % 10),
                ));
            }
            result => return result,
        }
    }
}

/// Runs a command against a totpctl server (`--store https://…`): the same front
/// end over the remote operations ([`ops::Remote`]), which the commands cannot tell
/// from a local store. What belongs on the server's host is refused by them.
fn run_remote(
    cli: &Cli,
    url: &str,
    store_arg: Option<PathBuf>,
    access: store::Access,
    out: Output,
) -> Result<Exit> {
    if matches!(cli.command, Command::Serve(_)) {
        return Err(invalid(
            "serve needs a store it opens itself (an SQLite file or a postgresql:// URL), \
             not another server",
        ));
    }
    let actor = Actor::current();
    let mut claims = vec![
        ("x-totpctl-client-user", actor.user.clone()),
        ("x-totpctl-client-host", actor.host.clone()),
    ];
    if access.pam {
        for (header, item) in [
            ("x-totpctl-client-service", "PAM_SERVICE"),
            ("x-totpctl-client-rhost", "PAM_RHOST"),
        ] {
            if let Ok(v) = std::env::var(item) {
                claims.push((header, v));
            }
        }
    }
    let remote = ops::Remote::new(
        url,
        &ops::RemoteAccess {
            token_file: cli.global.token_file.clone(),
            ca_file: access.ca_file.clone(),
            timeout: access.wait(),
            pam: access.pam,
        },
        claims,
    )?;
    let interactive = !cli.global.json && io::stdin().is_terminal();
    let mut ctx = Ctx {
        store_path: PathBuf::from(url.trim_end_matches('/')),
        out,
        cx: Context {
            now: Utc::now(),
            actor,
            interactive,
            store_arg: store_arg.map(|_| PathBuf::from(url.trim_end_matches('/'))),
        },
        ops: Box::new(remote),
    };
    dispatch(&cli.command, &mut ctx)
}

/// How many times a command that lost a transient conflict is run again.
const MAX_RETRIES: u32 = 8;

/// The longest `--timeout` taken, in seconds (a day).
const MAX_TIMEOUT: f64 = 86_400.0;

/// How the store may be reached, from the global options: which files it takes its
/// trust from, how long it may wait, and whether a statement may run as long as it
/// needs (the bulk commands).
fn access(cli: &Cli) -> Result<store::Access> {
    let g = &cli.global;
    let wait = match g.timeout {
        Some(t) if !(t > 0.0 && t <= MAX_TIMEOUT) => {
            return Err(invalid(format!(
                "--timeout must be more than 0 and at most {MAX_TIMEOUT} seconds"
            )));
        }
        Some(t) => Some(std::time::Duration::from_secs_f64(t)),
        None => None,
    };
    let (pam, bulk) = match &cli.command {
        Command::Verify(v) => (v.pam, false),
        Command::Import(_) | Command::Copy(_) | Command::List(_) | Command::Upgrade(_) => {
            (false, true)
        }
        Command::Log(l) => (
            false,
            l.check || l.accept_restore.is_some() || l.head.is_none(),
        ),
        _ => (false, false),
    };
    // verify's deadline is its watchdog's (verify::Watchdog); each wait in it
    // is bounded a little short of that, so that a lock held elsewhere ends in an
    // error that names it rather than in the watchdog's.
    let wait = match &cli.command {
        Command::Verify(_) => Some(wait.unwrap_or(verify::DEADLINE).mul_f64(0.8)),
        _ => wait,
    };
    Ok(store::Access {
        key_file: g.key_path.clone(),
        state_dir: g.state_dir.clone(),
        password_file: g.password_file.clone(),
        ca_file: g.ca_file.clone(),
        wait,
        bulk,
        pam,
        held: None,
    })
}

fn dispatch(command: &Command, ctx: &mut Ctx) -> Result<Exit> {
    match command {
        Command::Enroll(args) => enroll::run(args, ctx),
        Command::Verify(args) if args.pam => crate::pam::verify(args, ctx.ops.as_mut(), &ctx.cx),
        Command::Verify(args) => verify::run(args, ctx),
        Command::List(args) => list::run(args, ctx),
        Command::Show(args) => list::show(args, ctx),
        Command::BackupCodes(args) => backup_codes::run(args, ctx),
        Command::Remove(args) => remove::run(args, ctx),
        Command::Unlock(args) => unlock::run(args, ctx),
        Command::Config(args) => config::run(args, ctx),
        Command::Log(args) => log::run(args, ctx),
        Command::Import(args) if !args.google_authenticator.is_empty() => import_ga::run(args, ctx),
        Command::Import(args) => import::run(args, ctx),
        Command::Rekey(args) => rekey::run(args, ctx),
        Command::Copy(args) => copy::run(args, ctx),
        Command::Info(args) => info::run(args, ctx),
        Command::Upgrade(args) => upgrade::run(args, ctx),
        Command::Token(args) => token::run(args, ctx),
        Command::Serve(_) => unreachable!("handled above"),
        Command::Completions(_) => unreachable!("handled above"),
    }
}

/// Runs the hidden `generate-docs` (see [`cli::generate_docs_command`]): writes
/// completions/ and man/.
pub fn generate_docs(matches: &clap::ArgMatches) -> Result<Exit> {
    use clap::FromArgMatches;
    let args = cli::GenerateDocsArgs::from_arg_matches(matches)?;
    completions::generate_docs(&args)
}

/// Prints an error once, to stderr for people or as JSON on stdout, and returns the
/// exit status it carries. A closed stdout (`totpctl list | head`) is no error.
pub fn report(err: &anyhow::Error, json: bool) -> Exit {
    if is_broken_pipe(err) {
        return Exit::Success;
    }
    let typed = crate::base::error::classify(err);
    let exit = typed.map_or(Exit::Error, Error::exit);
    if json {
        let body = crate::base::error::json_body(err);
        let mut stdout = io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &serde_json::json!({ "error": body }));
        let _ = stdout.write_all(b"\n");
        let _ = stdout.flush();
    } else {
        let message = crate::base::error::one_line(err);
        let _ = writeln!(io::stderr().lock(), "totpctl: {message}");
    }
    exit
}

/// Reports a command line clap could not parse as one line, `totpctl: …` on stderr
/// or the JSON error with `--json`, carrying clap's suggestions and usage. Help and
/// version are printed as asked.
pub fn report_usage(err: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            return Exit::Success;
        }
        // `totpctl` alone on a command line: the help is the most useful answer.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return Exit::Error;
        }
        _ => {}
    }
    let wants_json = std::env::args_os().skip(1).any(|a| a == "--json");
    if err.kind() == ErrorKind::MissingSubcommand && !wants_json {
        // No command, but options or their variables were given: the help too.
        let _ = write!(
            io::stderr().lock(),
            "{}",
            <cli::Cli as clap::CommandFactory>::command().render_help()
        );
        return Exit::Error;
    }
    let rendered = match err.kind() {
        ErrorKind::MissingSubcommand => {
            "no command given; usage: totpctl [OPTIONS] <COMMAND>; see 'totpctl --help'".to_string()
        }
        _ => err.render().to_string(),
    };
    let mut message = String::new();
    for line in rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
    {
        let line = line.strip_prefix("error: ").unwrap_or(line);
        if !message.is_empty() {
            message.push_str(if message.ends_with(':') { " " } else { "; " });
        }
        match line.strip_prefix("Usage: ") {
            Some(usage) => message.push_str(&format!("usage: {usage}")),
            None => message.push_str(line),
        }
    }
    if wants_json {
        let body = serde_json::json!({
            "error": { "code": "invalid_argument", "message": message }
        });
        let mut stdout = io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &body);
        let _ = stdout.write_all(b"\n");
    } else {
        let _ = writeln!(io::stderr().lock(), "totpctl: {message}");
    }
    Exit::Error
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}
