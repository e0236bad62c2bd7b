//! totpctl: the server side of authenticator-app two-factor authentication, as a
//! command-line program on a local SQLite store or a shared PostgreSQL database.

pub mod backup_codes;
pub mod cli;
mod commands;
pub mod config;
pub mod error;
pub mod google_authenticator;
pub mod integrity;
pub mod names;
pub mod otp;
pub mod output;
pub mod pam;
pub mod qr;
pub mod store;
pub mod vault;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::cli::{Cli, Command};
use crate::error::{Error, Exit, invalid};
use crate::output::Output;
use crate::store::{Location, Session, Store};

/// What every command gets: where the store is, how to print, and the time.
pub struct Ctx {
    /// The store as messages name it: its path, or its URL without the password.
    pub store_path: PathBuf,
    /// Where the store is, and so which engine it is.
    pub location: Location,
    /// The store as the user named it (`--store` or `TOTPCTL_STORE`) when it is not the
    /// default one: the commands suggested to the user must carry it to reach the same
    /// store. None for the default store.
    pub store_arg: Option<PathBuf>,
    pub out: Output,
    /// The time the command started; the one clock every record of it uses.
    pub now: DateTime<Utc>,
    /// Whether prompting is allowed: stdin is a terminal and --json is off.
    pub interactive: bool,
    /// How the store may be reached: key file, state directory, waits.
    pub access: store::Access,
}

impl Ctx {
    /// Opens (creating on first use) the store: for the commands that may create one.
    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.location, &self.access)
    }

    /// Opens the store, which must exist: a missing store is `store_not_found`, never
    /// an empty store, so that a typo in a path cannot read as "nobody has 2FA".
    pub fn existing_store(&self) -> Result<Store> {
        Store::open_existing(&self.location, &self.access)?.ok_or_else(|| {
            // Not there, where this host saw a store holding events: gone, not mistyped.
            if let Err(e) = store::refuse_vanished(&self.location, &self.access) {
                return e;
            }
            Error::StoreNotFound(format!(
                "no store at {}: check --store or TOTPCTL_STORE (nothing was created; \
                 `totpctl enroll` or `totpctl import` makes a new store)",
                self.store_path.display()
            ))
            .into()
        })
    }

    /// Starts a write session on `store`, with its key (see [`store::Session`]).
    /// `create_keys` lets a store that has no key yet get one.
    pub fn session<'s>(&self, store: &'s mut Store, create_keys: bool) -> Result<Session<'s>> {
        self.session_with(store, create_keys, self.interactive)
    }

    /// Like [`Ctx::session`], saying whether a passphrase may be asked for.
    pub fn session_with<'s>(
        &self,
        store: &'s mut Store,
        create_keys: bool,
        interactive: bool,
    ) -> Result<Session<'s>> {
        self.session_for(store, create_keys, interactive, store::Purpose::Use)
    }

    /// Like [`Ctx::session_with`], for a purpose other than using the store (see
    /// [`store::Purpose`]).
    pub fn session_for<'s>(
        &self,
        store: &'s mut Store,
        create_keys: bool,
        interactive: bool,
        purpose: store::Purpose,
    ) -> Result<Session<'s>> {
        let now = self.now_str();
        Session::begin(
            store,
            &store::session::Opening {
                now: &now,
                interactive,
                create_keys,
                purpose,
            },
        )
    }

    /// A `totpctl …` command line to suggest to the user, which pastes as is: with
    /// `--store` when the store is not the default, each word quoted for the shell.
    pub fn command_line(&self, words: &[&str]) -> String {
        output::command_line(self.store_arg.as_deref(), words)
    }

    /// The command line of `command` on one account, as [`Ctx::command_line`]; an
    /// account that starts with `-` comes after `--`, so it is not taken for an option.
    pub fn account_command(&self, command: &str, account: &str) -> String {
        if account.starts_with('-') {
            self.command_line(&[command, "--", account])
        } else {
            self.command_line(&[command, account])
        }
    }

    /// `now` in the RFC 3339 form every stored timestamp uses.
    pub fn now_str(&self) -> String {
        timestamp(self.now)
    }
}

/// The stored form of a time: RFC 3339, UTC, milliseconds, fixed width, so that text
/// order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a time given on the command line: unix seconds or RFC 3339.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| invalid(format!("time {secs} is out of range")));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(format!(
                "'{}' is not a time: give unix seconds (1764158400) or RFC 3339 \
                 (2026-11-26T12:00:00Z)",
                otp::printable(text)
            ))
        })
}

/// Parses a time given on the command line as [`parse_time`] does, or as a span
/// before `now`: a number and a unit, `90s`, `30m`, `24h`, `7d`, `2w`.
pub fn parse_time_or_ago(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let trimmed = text.trim();
    let unit_at = trimmed.len().saturating_sub(1);
    if let (Some(unit), Ok(n)) = (
        trimmed.get(unit_at..),
        trimmed.get(..unit_at).unwrap_or_default().parse::<u32>(),
    ) {
        let seconds: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => 0,
        };
        if seconds > 0 {
            return chrono::Duration::try_seconds(i64::from(n) * seconds)
                .and_then(|d| now.checked_sub_signed(d))
                .ok_or_else(|| invalid(format!("'{trimmed}' reaches too far back")));
        }
    }
    parse_time(text).map_err(|_| {
        invalid(format!(
            "'{}' is not a time: give a span before now (30m, 24h, 7d), unix seconds \
             (1764158400) or RFC 3339 (2026-11-26T12:00:00Z)",
            otp::printable(trimmed)
        ))
    })
}

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
        return commands::completions::run(args, &out);
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
    let location = Location::parse(&store_path, &access)?;
    // From here on the store is named by its label: a URL loses its password.
    let store_path = location.label();
    let store_arg = store_arg.map(|_| store_path.clone());
    let interactive = !cli.global.json && io::stdin().is_terminal();
    let ctx = Ctx {
        store_path,
        location,
        store_arg,
        out,
        now: Utc::now(),
        interactive,
        access,
    };
    // verify has one deadline, retries included.
    let _watchdog = matches!(cli.command, Command::Verify(_)).then(|| {
        commands::verify::Watchdog::start(
            ctx.access.wait().div_f64(0.8),
            ctx.out.json,
            ctx.store_path.display().to_string(),
        )
    });
    // A transaction that lost a conflict on a server (serialization failure,
    // deadlock) was rolled back whole and printed nothing: run it again, a bounded
    // number of times, so that no such error reaches the user.
    let mut attempt = 0;
    loop {
        match dispatch(&cli.command, &ctx) {
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
    // verify's deadline is its watchdog's (commands::verify::Watchdog); each wait in it
    // is bounded a little short of that, so that a lock held elsewhere ends in an
    // error that names it rather than in the watchdog's.
    let wait = match &cli.command {
        Command::Verify(_) => Some(wait.unwrap_or(commands::verify::DEADLINE).mul_f64(0.8)),
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
    })
}

fn dispatch(command: &Command, ctx: &Ctx) -> Result<Exit> {
    match command {
        Command::Enroll(args) => commands::enroll::run(args, ctx),
        Command::Verify(args) => commands::verify::run(args, ctx),
        Command::List(args) => commands::list::run(args, ctx),
        Command::Show(args) => commands::list::show(args, ctx),
        Command::BackupCodes(args) => commands::backup_codes::run(args, ctx),
        Command::Remove(args) => commands::remove::run(args, ctx),
        Command::Unlock(args) => commands::unlock::run(args, ctx),
        Command::Config(args) => commands::config::run(args, ctx),
        Command::Log(args) => commands::log::run(args, ctx),
        Command::Import(args) => commands::import::run(args, ctx),
        Command::Rekey(args) => commands::rekey::run(args, ctx),
        Command::Copy(args) => commands::copy::run(args, ctx),
        Command::Info(args) => commands::info::run(args, ctx),
        Command::Upgrade(args) => commands::upgrade::run(args, ctx),
        Command::Completions(_) => unreachable!("handled above"),
    }
}

/// Runs the hidden `generate-docs` (see [`cli::generate_docs_command`]): writes
/// completions/ and man/.
pub fn generate_docs(matches: &clap::ArgMatches) -> Result<Exit> {
    use clap::FromArgMatches;
    let args = cli::GenerateDocsArgs::from_arg_matches(matches)?;
    commands::completions::generate_docs(&args)
}

/// Prints an error once, to stderr for people or as JSON on stdout, and returns the
/// exit status it carries. A closed stdout (`totpctl list | head`) is no error.
pub fn report(err: &anyhow::Error, json: bool) -> Exit {
    if is_broken_pipe(err) {
        return Exit::Success;
    }
    let typed = error::classify(err);
    let exit = typed.map_or(Exit::Error, Error::exit);
    let code = typed.map_or("store_error", Error::code);
    let message = error::one_line(err);
    if json {
        let mut body = serde_json::json!({ "code": code, "message": message });
        match typed {
            Some(Error::Locked { until, .. }) => body["lockedUntil"] = until.clone().into(),
            Some(Error::LogBroken { seq, .. }) => body["event"] = (*seq).into(),
            Some(Error::BadLines { total, lines, .. }) => {
                body["badLines"] = (*total).into();
                body["lines"] = lines
                    .iter()
                    .map(|(line, message)| serde_json::json!({ "line": line, "message": message }))
                    .collect();
            }
            _ => {}
        }
        let mut stdout = io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &serde_json::json!({ "error": body }));
        let _ = stdout.write_all(b"\n");
        let _ = stdout.flush();
    } else {
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

/// Asks on the terminal with no echo (codes, passphrases). Ctrl-D at the prompt is an
/// end-of-file error, after a newline, so that the error does not land on the
/// prompt's line.
pub fn prompt_hidden(prompt: &str) -> io::Result<String> {
    rpassword::prompt_password(prompt).inspect_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            let _ = writeln!(io::stderr());
        }
    })
}

/// Reads one line from stdin (for codes and import), without its line ending.
pub fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    io::stdin().read_line(&mut line).map_err(|e| {
        // Bytes that are not text are bad input, not a failure of the store.
        if e.kind() == io::ErrorKind::InvalidData {
            invalid(format!("the {what} on stdin is not valid UTF-8"))
        } else {
            anyhow::Error::new(e).context(format!("cannot read the {what} from stdin"))
        }
    })?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
