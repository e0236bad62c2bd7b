//! The arguments of each subcommand, one struct apiece, with the value enums they use.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once.
///
/// The secret comes from the operating system's CSPRNG and is sealed in the store
/// with the store's key; it cannot be shown again. The TOTP counts as enabled only
/// once one code made from it has been verified (`totpctl verify`).
///
/// Re-enrolling an account whose TOTP is still unverified replaces it. One whose TOTP
/// is verified is refused unless --force, which also drops its backup codes.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl enroll alice@example.com
  totpctl enroll bob --issuer Acme --digits 8 --qr-file bob.png
  totpctl enroll ci-bot --qr never --json | jq -r .secret")]
pub struct EnrollArgs {
    /// The user's identifier, unique in the store (an email, a user name)
    pub account: String,
    /// The issuer shown in authenticator apps [default: the store's `issuer` setting]
    #[arg(long, value_name = "NAME")]
    pub issuer: Option<String>,
    /// The HMAC algorithm [default: the store's `algorithm` setting, SHA1]
    #[arg(long, value_enum, ignore_case = true)]
    pub algorithm: Option<AlgorithmArg>,
    /// Digits per code, 6 to 8 [default: the store's `digits` setting, 6]
    #[arg(long, value_name = "N")]
    pub digits: Option<u8>,
    /// Seconds per code, 1 to 3600 [default: the store's `period` setting, 30]
    #[arg(long, value_name = "SECS")]
    pub period: Option<u32>,
    /// Length of the secret in bytes, 16 to 64
    #[arg(long, value_name = "BYTES", default_value_t = crate::domain::otp::DEFAULT_SECRET_BYTES)]
    pub secret_size: usize,
    /// Replace a verified TOTP (and drop its backup codes)
    #[arg(long)]
    pub force: bool,
    /// When to draw the QR code on the terminal
    #[arg(long, value_enum, default_value_t = QrWhen::Auto, value_name = "WHEN")]
    pub qr: QrWhen,
    /// Also write the QR code to an image file (.png or .svg)
    #[arg(long, value_name = "PATH")]
    pub qr_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QrWhen {
    /// Only when stdout is a terminal
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    #[value(name = "SHA1")]
    Sha1,
    #[value(name = "SHA256")]
    Sha256,
    #[value(name = "SHA512")]
    Sha512,
}

/// Check a TOTP code or a backup code for an account.
///
/// Without CODE, the code is read from a prompt with no echo on a terminal, or from one
/// line of stdin, which keeps it out of the process list. Spaces and hyphens in a code
/// are ignored. Backup codes are tried first and consumed when they match.
///
/// A TOTP code is accepted within ±window steps of now, and only if its step is later
/// than the last accepted one (so a code works once). The first accepted code marks the
/// TOTP verified and, when the store's `backup-codes` setting is on, prints a fresh set
/// of backup codes, once.
///
/// Exit status: 0 accepted, 1 rejected, 3 locked out, 4 no such account.
///
/// With --pam, for PAM's pam_exec with expose_authtok: the account is $PAM_USER (a
/// name, never an id), the code is read from stdin up to a NUL byte or a newline,
/// nothing is prompted or printed on stdout, and the exit status is 0 only for an
/// accepted code. The audit event records $PAM_SERVICE and $PAM_RHOST. Nothing else
/// comes from the environment: the store, the key file, a password file and a CA
/// file are named by options on the PAM line, a passphrase store is refused, and an
/// unknown user is recorded like a wrong code, in about the same time.
///
/// The whole command has one deadline, --timeout (5 s by default), connecting and
/// waiting for locks included: past it, verify fails closed with store_error.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl verify alice@example.com
  echo 123456 | totpctl verify alice@example.com --json
  totpctl verify alice@example.com 287082 --at 2026-11-26T12:00:00Z
  printf '123456\\0' | PAM_USER=alice totpctl verify --pam --store /var/lib/totpctl/totpctl.db")]
pub struct VerifyArgs {
    /// Account name or id
    #[arg(required_unless_present = "pam")]
    pub account: Option<String>,
    /// The code; omit it to be prompted (or to read it from stdin). Words are joined,
    /// so `123 456` works unquoted
    #[arg(value_name = "CODE", num_args = 0..)]
    pub code: Vec<String>,
    /// Check the code as if it were this time (unix seconds or RFC 3339). A past time
    /// is checked and recorded as usual; a future one is only checked (nothing changes
    /// but the audit trail), so the replay watermark never passes the real clock
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Accept codes this many steps before or after now [default: the store's `window`]
    #[arg(long, value_name = "N")]
    pub window: Option<u32>,
    /// Called by pam_exec (expose_authtok): account from $PAM_USER, code from stdin,
    /// nothing on stdout, exit 0 only for an accepted code; needs --store
    #[arg(long, conflicts_with_all = ["account", "code", "at"])]
    pub pam: bool,
}

/// List enrollments for audit; never shows a secret, URI or backup code.
///
/// A table for people, a JSON array with --json. Rows are ordered by account name and
/// streamed, so memory stays flat however large the store. On a terminal the table
/// fits its width: long names are cut with …, and a narrow terminal drops the less
/// important columns (FAILED first, then BACKUP CODES, ISSUER, LAST USED, LOCKED
/// UNTIL); `show` prints every field.
/// Filters combine: an account must match all of them.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl list
  totpctl list --unverified --issuer Acme
  totpctl list --verified --no-backup-codes
  totpctl list --unused-since 90d --json | jq -r '.[].account'")]
pub struct ListArgs {
    /// Only accounts whose TOTP is verified
    #[arg(long, conflicts_with = "unverified")]
    pub verified: bool,
    /// Only accounts whose TOTP is not verified yet
    #[arg(long)]
    pub unverified: bool,
    /// Only accounts of this issuer: the whole name, ignoring the case of ASCII
    /// letters (acme matches Acme, not Acme Corp)
    #[arg(long, value_name = "NAME")]
    pub issuer: Option<String>,
    /// Only accounts that are locked out now
    #[arg(long)]
    pub locked: bool,
    /// Only accounts without a backup code left
    #[arg(long)]
    pub no_backup_codes: bool,
    /// Only accounts never used, or last used before TIME: a span before now (30m,
    /// 24h, 90d), unix seconds or RFC 3339
    #[arg(long, value_name = "TIME")]
    pub unused_since: Option<String>,
}

/// Show one enrollment: the fields of `list`, never a secret.
///
/// Its issuer and parameters, whether its TOTP is verified, how many backup codes are
/// left, when a code was last accepted, the count of rejected codes and, if it is
/// locked out, until when. Needs no key: the secret is never read.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl show alice@example.com
  totpctl show 019abc12-... --json | jq .backupCodesRemaining")]
pub struct ShowArgs {
    /// Account name or id
    pub account: String,
}

/// Replace an account's backup codes with a fresh set, printed once.
///
/// Every earlier backup code of the account stops working. Refused until the account's
/// TOTP is verified.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl backup-codes alice@example.com
  totpctl backup-codes alice@example.com --count 16 --json | jq -r '.backupCodes[]'")]
pub struct BackupCodesArgs {
    /// Account name or id
    pub account: String,
    /// How many codes, 1 to 100 [default: the store's `backup-code-count`]
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
}

/// Delete an account's TOTP and its backup codes.
///
/// Asks for confirmation on a terminal; elsewhere --yes is required.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl remove alice@example.com
  totpctl remove alice@example.com --yes --json")]
pub struct RemoveArgs {
    /// Account name or id
    pub account: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Clear an account's lockout and its count of rejected codes.
///
/// After `lockout-attempts` consecutive rejected codes an account is locked for
/// `lockout-seconds`, and verify refuses even the right code (exit 3). unlock lets it
/// try again at once; the audit log records who was unlocked and from what count.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl unlock alice@example.com
  totpctl list --locked --json | jq -r '.[].id' | xargs -n1 totpctl unlock")]
pub struct UnlockArgs {
    /// Account name or id
    pub account: String,
}

/// Show or change the store's settings.
///
/// Settings: issuer, backup-codes (on/off), backup-code-count, window,
/// lockout-attempts (0 = never lock), lockout-seconds, algorithm, digits, period.
/// Without KEY, prints them all; with KEY, prints one; with KEY and VALUE, sets it.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl config
  totpctl config issuer Acme
  totpctl config lockout-attempts 5 --json")]
pub struct ConfigArgs {
    /// The setting to show or change
    pub key: Option<String>,
    /// Its new value
    #[arg(allow_negative_numbers = true)]
    pub value: Option<String>,
}

/// Show the store's append-only, hash-chained audit trail.
///
/// Events, oldest first: enrolled, code accepted or rejected, verified, locked,
/// unlocked, backup codes generated or used, removed, imported, config changed,
/// rekeyed. Never a code or a secret. --check recomputes the hash chain and exits 2
/// naming the first event that was edited, deleted or reordered.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl log alice@example.com
  totpctl log --since 24h --event code_rejected --event locked
  totpctl log --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --json
  totpctl log --limit 20
  totpctl log --check")]
pub struct LogArgs {
    /// Only events of this account (name or id)
    pub account: Option<String>,
    /// Only events at or after this time: a span before now (30m, 24h, 7d), unix
    /// seconds or RFC 3339
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events at or before this time (as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only events of this kind (enrolled, code_accepted, code_rejected, verified,
    /// locked, unlocked, backup_codes_generated, backup_code_used, removed, imported,
    /// config_changed, rekeyed); repeat it for several
    #[arg(long, value_name = "NAME")]
    pub event: Vec<String>,
    /// Only the newest N of the matching events, still printed oldest first
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Check the whole store with its key instead of listing: the keyed hash chain,
    /// every enrollment against its MAC and its last event, and the settings
    #[arg(long, conflicts_with_all = ["account", "since", "until", "event", "limit"])]
    pub check: bool,
    /// Alone: print the log's head (SEQ:HASH) to keep elsewhere. With --check H:
    /// also prove that the log still extends the head H kept earlier, which catches a
    /// whole store rolled back to an older copy
    #[arg(long, value_name = "H", num_args = 0..=1, conflicts_with_all = ["account", "since", "until", "event", "limit"])]
    pub head: Option<Option<String>>,
    /// With --check: check the whole chain and every enrollment, not only what changed
    /// since this host last checked
    #[arg(long, requires = "check")]
    pub full: bool,
    /// After restoring a backup on purpose: accept the store as it is, at HEAD (as
    /// `log --head` prints it), so that every host takes it from now on instead of
    /// refusing it as rolled back. Checks the whole store first
    #[arg(long, value_name = "HEAD", conflicts_with_all = ["account", "since", "until", "event", "limit", "check", "head"])]
    pub accept_restore: Option<String>,
}

/// Enroll existing secrets in bulk from otpauth:// URIs, one a line.
///
/// For migrations from another system. Blank lines and lines starting with # are
/// skipped. The whole file is one transaction: it all goes in, or nothing does. Every
/// bad line is reported in one run (the first 100 with their reasons, then a count).
/// Secrets must be 80 bits to 64 bytes; shorter than 128 bits draws a warning.
/// Imported TOTPs count as verified unless --unverified; they have no backup codes
/// until `backup-codes` makes them.
///
/// With --google-authenticator, reads google-authenticator-libpam's per-user files
/// instead (~/.google_authenticator): each becomes the account of the OS user who owns
/// the file (or --account, for one file), its scratch codes become that account's
/// backup codes, and the options totpctl cannot carry over are listed with what it
/// does instead. Counter-based (HOTP) and malformed files are refused; every problem of
/// every file is reported, and then nothing is imported.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl import exported.txt --dry-run
  totpctl import exported.txt
  grep -v '^#' exported.txt | totpctl import - --skip-existing --json
  totpctl import --google-authenticator /home/*/.google_authenticator --dry-run")]
pub struct ImportArgs {
    /// The file to read, or - for stdin
    #[arg(default_value = "-", value_name = "FILE")]
    pub file: PathBuf,
    /// Import google-authenticator-libpam files (~/.google_authenticator) instead
    #[arg(long = "google-authenticator", value_name = "FILE", num_args = 1.., conflicts_with = "file")]
    pub google_authenticator: Vec<PathBuf>,
    /// The account for a single --google-authenticator file [default: the OS user
    /// who owns it]
    #[arg(long, value_name = "NAME", requires = "google_authenticator")]
    pub account: Option<String>,
    /// Import the TOTPs as not yet verified
    #[arg(long)]
    pub unverified: bool,
    /// Skip accounts that already exist instead of failing
    #[arg(long)]
    pub skip_existing: bool,
    /// Check every line (or file) and report what would be imported, changing nothing
    /// (needs no key, creates no store)
    #[arg(long)]
    pub dry_run: bool,
}

/// Replace the key that seals the store's secrets, without losing any enrollment.
///
/// Every secret is sealed again under a new key in one transaction. By default the
/// store keeps (or returns to) a key file; --passphrase switches to a key derived from
/// a passphrase with Argon2id, asked twice with no echo (or TOTPCTL_PASSPHRASE).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl rekey
  totpctl rekey --passphrase
  TOTPCTL_PASSPHRASE=old totpctl rekey --key-file")]
pub struct RekeyArgs {
    /// Protect the store with a passphrase instead of a key file
    #[arg(long, conflicts_with = "key_file")]
    pub passphrase: bool,
    /// Protect the store with a fresh key file (the default)
    #[arg(long)]
    pub key_file: bool,
}

/// Show where the store and its key are, the schema version and the counts.
///
/// The store's path, how its key is protected (a key file, and where, or a
/// passphrase), its schema version, how many enrollments it holds (verified,
/// unverified, locked now, without backup codes), and its events. Needs no key.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl info
  totpctl info --json | jq .enrollments.locked")]
pub struct InfoArgs {}

/// Copy the whole store into a new one, in either engine.
///
/// Every enrollment, sealed secret, backup-code hash, setting, the key record and the
/// whole audit log go into DEST: a new SQLite file, or a PostgreSQL database without
/// totpctl data yet. The source is read in one snapshot while other processes go on
/// verifying; DEST is written in one transaction, all or nothing, and its log records
/// the copy. DEST opens with the same key: a key file beside an SQLite DEST is copied
/// there; for a PostgreSQL DEST, set TOTPCTL_KEY_FILE on each host.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl copy 'postgresql://totpctl@db.example/totpctl?sslmode=verify-full'
  totpctl copy /backup/totpctl-snapshot.db
  TOTPCTL_STORE=postgresql://db.example/auth totpctl copy snapshot.db")]
pub struct CopyArgs {
    /// The new store: a path, or a postgresql:// URL
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
}

/// Authenticate a version 1 store: give every row, setting and event its MAC.
///
/// Stores written by totpctl before its rows were authenticated (schema version 1)
/// are read by list, show and log as they are, and refused by every command that
/// decides anything, verify included, until this is run once with the store's key.
/// It checks the unkeyed audit log first, seals every secret again bound to its
/// account and parameters, gives everything its MAC, and records a store_upgraded
/// event, all in one transaction. A host that has seen an authenticated store at the
/// same place refuses it: an old form of a store put back is a downgrade.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl upgrade
  totpctl upgrade --json --store /var/lib/totpctl/totpctl.db")]
pub struct UpgradeArgs {}

/// Print a shell completion script.
///
/// For bash, zsh, fish, elvish or PowerShell: it completes subcommands, options and
/// their values. Write it where your shell loads completions from; the same scripts
/// are in the completions/ folder of the source.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  totpctl completions bash > ~/.local/share/bash-completion/completions/totpctl
  totpctl completions zsh > ~/.zfunc/_totpctl
  totpctl completions fish > ~/.config/fish/completions/totpctl.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Regenerate completions/ and man/ from this definition (for maintainers)
#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// The folder that holds completions/ and man/
    #[arg(default_value = ".")]
    pub out: PathBuf,
}
