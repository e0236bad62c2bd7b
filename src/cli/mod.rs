//! The command-line interface as clap derive types, and nothing else, so that
//! completions and man pages are generated from this one definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod args;
mod server_args;
pub use args::*;
pub use server_args::*;

const TOP_AFTER_HELP: &str = "\
Exit codes:
  0  success; for verify, the code was accepted
  1  verify: the code was rejected (incorrect, replayed, malformed)
  2  error: bad arguments or input, store or key problem
  3  verify: the account is locked out
  4  the account or id does not exist

Environment:
  TOTPCTL_STORE       the store to use (as --store)
  TOTPCTL_KEY_FILE    the key file that seals secrets (as --key)
  TOTPCTL_STATE_DIR   where this host keeps what it has seen of each store (as --state-dir)
  TOTPCTL_TIMEOUT     how long to wait for the store (as --timeout)
  TOTPCTL_TOKEN_FILE  the API token for a totpctl server store (as --token-file)
  TOTPCTL_PASSPHRASE  the passphrase of a passphrase-protected store (else prompted)
  TOTPCTL_NEW_PASSPHRASE  the new passphrase for `rekey` on a passphrase store
  NO_COLOR            turns colour off (as --color never)
  verify --pam reads none of these: only PAM's own items (PAM_USER, PAM_SERVICE, …)

Examples:
  totpctl enroll alice@example.com --issuer Acme
  totpctl verify alice@example.com          # prompts for the code
  totpctl list --verified --json | jq -r '.[].account'";

/// The server side of authenticator-app two-factor authentication.
///
/// totpctl enrolls accounts (a fresh secret, an otpauth:// URI and a QR code, shown
/// once), verifies the codes people type (TOTP and single-use backup codes, with
/// replay protection and lockout), lists enrollments for audit without ever showing a
/// secret, and keeps a keyed, hash-chained audit log. The store is a local SQLite
/// file, or one PostgreSQL database shared by many hosts; its secrets are sealed with
/// a key kept apart from it.
#[derive(Debug, Parser)]
#[command(name = "totpctl", version, after_long_help = TOP_AFTER_HELP)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted in front of any subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The store: an SQLite file, a postgresql:// URL, or a totpctl server's
    /// https:// URL [default: totpctl.db in the per-user data directory]
    #[arg(
        long,
        global = true,
        env = "TOTPCTL_STORE",
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
    pub store: Option<PathBuf>,
    /// Print exactly one JSON value on stdout: no colour, no QR, no prompt
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// The key file that seals the store's secrets [default: the SQLite store's path
    /// + .key; a postgresql:// store needs it or a passphrase]
    #[arg(
        long = "key",
        global = true,
        env = "TOTPCTL_KEY_FILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub key_path: Option<PathBuf>,
    /// Where this host keeps what it has seen of each store, to refuse one rolled back
    /// [default: totpctl-state beside the key file]
    #[arg(
        long,
        global = true,
        env = "TOTPCTL_STATE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// A PostgreSQL password file (.pgpass lines), checked like the key file
    #[arg(long, global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// The CA a PostgreSQL or totpctl server's certificate must chain to
    ///
    /// PostgreSQL: implies sslmode=verify-full unless the URL says otherwise. A
    /// totpctl server (--store https://…): trusted instead of the system's roots.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The API token for a totpctl server store (--store https://HOST:PORT)
    ///
    /// A file only its owner can read, holding the token `totpctl token create`
    /// printed on the server's host.
    #[arg(
        long,
        global = true,
        env = "TOTPCTL_TOKEN_FILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub token_file: Option<PathBuf>,
    /// How long to wait for the store, in seconds: for verify, the whole command
    /// [default: 5]; for other commands, each wait for a lock [default: 30]
    #[arg(long, global = true, env = "TOTPCTL_TIMEOUT", value_name = "SECS")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built only when that subcommand runs (`defer`), which
// keeps every command's start-up short; so the one line each has in `totpctl --help` is
// given here, on its variant (tests/help.rs holds it to its own help's first line).
#[command(defer = true)]
pub enum Command {
    /// Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once
    Enroll(EnrollArgs),
    /// Check a TOTP code or a backup code for an account
    Verify(VerifyArgs),
    /// List enrollments for audit; never shows a secret, URI or backup code
    List(ListArgs),
    /// Show one enrollment: the fields of `list`, never a secret
    Show(ShowArgs),
    /// Replace an account's backup codes with a fresh set, printed once
    BackupCodes(BackupCodesArgs),
    /// Delete an account's TOTP and its backup codes
    Remove(RemoveArgs),
    /// Clear an account's lockout and its count of rejected codes
    Unlock(UnlockArgs),
    /// Show or change the store's settings
    Config(ConfigArgs),
    /// Show the store's append-only, hash-chained audit trail
    Log(LogArgs),
    /// Enroll existing secrets in bulk from otpauth:// URIs, one a line
    Import(ImportArgs),
    /// Replace the key that seals the store's secrets, without losing any enrollment
    Rekey(RekeyArgs),
    /// Show where the store and its key are, the schema version and the counts
    Info(InfoArgs),
    /// Copy the whole store into a new one, in either engine
    Copy(CopyArgs),
    /// Authenticate a version 1 store: give every row, setting and event its MAC
    Upgrade(UpgradeArgs),
    /// Make, list and revoke the API tokens of `totpctl serve`
    Token(TokenArgs),
    /// Serve the store over HTTPS to applications and hosts holding API tokens
    Serve(ServeArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// The hidden `generate-docs` subcommand. It is not a variant of [`Command`] because
/// clap_complete offers hidden subcommands too: kept out of [`Cli`], it never appears
/// in the completions or man pages generated from it. `main` adds it when parsing.
pub fn generate_docs_command() -> clap::Command {
    clap::Command::new("generate-docs")
        .hide(true)
        .defer(GenerateDocsArgs::augment_args)
}
