//! Everything printed: JSON views (never database rows), the human forms, colour,
//! and the sanitising of text that came from the store or the user.

use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::error::invalid;
use crate::otp::printable;
use crate::store::Totp;

/// Where and how a command prints.
pub struct Output {
    pub json: bool,
    pub color: bool,
    /// Whether stdout is a terminal.
    pub tty: bool,
    /// The width of the terminal in columns: stdout's terminal, else `COLUMNS`; None
    /// when neither says.
    pub columns: Option<usize>,
    /// The height of the terminal in lines: stdout's terminal, else `LINES`.
    pub lines: Option<usize>,
}

impl Output {
    /// Announces a store (and key file) a command just made: where they are, and that
    /// the key file needs a backup of its own.
    pub fn new_store(&self, w: &mut dyn Write, store: &Path, key: Option<&Path>) -> io::Result<()> {
        writeln!(w)?;
        writeln!(w, "New store: {}", sanitize(&store.display().to_string()))?;
        if let Some(key) = key {
            writeln!(w, "New key file: {}", sanitize(&key.display().to_string()))?;
            writeln!(
                w,
                "{} Back up the key file, apart from the store: no code verifies without it.",
                self.yellow("Note:")
            )?;
        }
        Ok(())
    }

    pub fn new(json: bool, choice: crate::cli::ColorChoice) -> Output {
        let tty = io::stdout().is_terminal();
        let color = !json
            && match choice {
                crate::cli::ColorChoice::Always => true,
                crate::cli::ColorChoice::Never => false,
                crate::cli::ColorChoice::Auto => {
                    tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
        let size = terminal_size::terminal_size_of(io::stdout());
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|&c| c > 0)
        };
        let columns = size
            .map(|(w, _)| usize::from(w.0))
            .or_else(|| env("COLUMNS"));
        let lines = size.map(|(_, h)| usize::from(h.0)).or_else(|| env("LINES"));
        Output {
            json,
            color,
            tty,
            columns,
            lines,
        }
    }

    /// A buffered, locked stdout.
    pub fn stdout(&self) -> BufWriter<StdoutLock<'static>> {
        BufWriter::new(io::stdout().lock())
    }

    /// Prints one JSON value and a newline.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<()> {
        let mut w = self.stdout();
        serde_json::to_writer(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()?;
        Ok(())
    }

    /// Wraps `text` in an ANSI style when colour is on.
    pub fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint(
            anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Green.into())),
            text,
        )
    }

    pub fn red(&self, text: &str) -> String {
        self.paint(
            anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Red.into())),
            text,
        )
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint(
            anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into())),
            text,
        )
    }
}

/// Whether a character could change what a terminal shows beyond itself: controls
/// (C0, DEL, C1) and the Unicode bidirectional overrides and isolates.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: zero-width spaces and joiners, the word joiner and
/// invisible operators, the soft hyphen, the byte-order mark, the Mongolian vowel
/// separator, the combining grapheme joiner, Hangul fillers and the tag characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{3164}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}')
}

/// Text from the store or the user, made safe for a terminal: control and bidi
/// characters become `\u{…}` escapes.
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(is_hostile) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if is_hostile(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Refuses account names and issuers that are empty, too long, or carry characters
/// that could rewrite a terminal or break an otpauth:// label.
pub fn check_name(what: &str, value: &str) -> Result<()> {
    let account = what == "account";
    if value.trim().is_empty() && account {
        return Err(invalid("the account name is empty"));
    }
    // An argument names an account or an id: a name that is an id would shadow, or
    // be shadowed by, the enrollment whose id it is.
    if account && uuid::Uuid::try_parse(value.trim()).is_ok() {
        return Err(invalid(format!(
            "the account name '{}' is a UUID, which totpctl reads as an enrollment id; \
             choose another name",
            printable(value)
        )));
    }
    // It would read as an option wherever it is pasted.
    if account && value.starts_with('-') {
        return Err(invalid(format!(
            "the account name '{}' starts with '-', which reads as an option",
            printable(value)
        )));
    }
    if let Some(c) = value.chars().find(|&c| is_invisible(c)) {
        return Err(invalid(format!(
            "the {what} '{}' contains the invisible character U+{:04X}, which would make \
             two names look alike",
            printable(value),
            c as u32
        )));
    }
    if value.chars().count() > 256 {
        return Err(invalid(format!("the {what} is longer than 256 characters")));
    }
    if value.chars().any(is_hostile) {
        return Err(invalid(format!(
            "the {what} '{}' contains control or bidirectional-override characters",
            printable(value)
        )));
    }
    if value.contains(':') {
        return Err(invalid(format!(
            "the {what} '{}' contains ':', which separates issuer and account in otpauth:// \
             labels",
            printable(value)
        )));
    }
    if value != value.trim() {
        return Err(invalid(format!(
            "the {what} '{}' starts or ends with white space",
            printable(value)
        )));
    }
    Ok(())
}

/// The enrollment fields every view has (SPEC §1 "everywhere").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpView {
    pub id: String,
    pub account: String,
    pub issuer: String,
    pub algorithm: &'static str,
    pub digits: u8,
    pub period: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_codes: Option<Vec<String>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditView>,
    pub created_at: String,
    pub updated_at: String,
}

/// The fields `list` and `show` add.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub backup_codes_remaining: u32,
    pub last_used_at: Option<String>,
    pub failed_attempts: u32,
    pub locked_until: Option<String>,
}

impl TotpView {
    /// The view of `list` and `show`: no secret, no URI, no backup code.
    pub fn audit(t: Totp) -> TotpView {
        TotpView {
            audit: Some(AuditView {
                backup_codes_remaining: t.backup_codes_remaining,
                last_used_at: t.last_used_at.clone(),
                failed_attempts: t.failed_attempts,
                locked_until: t.locked_until.clone(),
            }),
            ..TotpView::bare(t)
        }
    }

    /// Only the "everywhere" fields.
    pub fn bare(t: Totp) -> TotpView {
        TotpView {
            id: t.id,
            account: t.account,
            issuer: t.issuer,
            algorithm: t.params.algorithm.as_str(),
            digits: t.params.digits,
            period: t.params.period,
            secret: None,
            uri: None,
            verified: t.verified,
            backup_codes: None,
            audit: None,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// An RFC 3339 timestamp as people read it, to the second: `2026-11-26 12:30:05 UTC`.
/// Prints `totpctl: warning: MESSAGE` on stderr (a warning that cannot be printed is
/// not an error of its own).
pub fn warn(message: &str) {
    let _ = writeln!(
        io::stderr().lock(),
        "totpctl: warning: {}",
        sanitize(message)
    );
}

pub fn human_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => sanitize(rfc3339),
    }
}

/// A word for a POSIX shell command line: as it is when it is safe unquoted, else in
/// single quotes. Control characters are escaped first (as [`sanitize`] does), so the
/// word cannot rewrite the terminal it is printed on.
pub fn shell_word(text: &str) -> String {
    let text = sanitize(text);
    // zsh expands a word that starts with `=`.
    if !text.is_empty()
        && !text.starts_with('=')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%._-+/=,:".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A `totpctl …` command line that pastes as is into a shell: `--store PATH` first
/// when `store` is given (the store is not the default one), then `words`, each
/// quoted when it needs it. Placeholders such as `ACCOUNT` pass through unquoted.
pub fn command_line(store: Option<&Path>, words: &[&str]) -> String {
    let mut line = program().to_string();
    if let Some(store) = store {
        line.push_str(" --store ");
        line.push_str(&shell_word(&store.to_string_lossy()));
    }
    for word in words {
        line.push(' ');
        line.push_str(&shell_word(word));
    }
    line
}

/// This program as a command line can name it: `totpctl` when that is what the shell
/// finds on PATH, else the path of this executable (run through `cargo run`, or from a
/// build directory), so that a suggested command works as it is pasted.
fn program() -> &'static str {
    static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let Ok(me) = std::env::current_exe() else {
            return "totpctl".into();
        };
        let same = |p: &Path| match (std::fs::metadata(p), std::fs::metadata(&me)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("totpctl"))
                    .find(|p| p.is_file())
            })
            .unwrap_or(None);
        match on_path {
            Some(found) if same(&found) => "totpctl".into(),
            // Another totpctl first on PATH, or none: this one, by its path.
            _ => shell_word(&me.to_string_lossy()),
        }
    })
}

/// `1 enrollment`, `2 enrollments`: a count and a noun that takes an `s`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Pads `text` to `width` terminal columns.
pub fn pad(text: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

/// `text` cut to at most `width` terminal columns, ending in `…` when it was cut.
pub fn truncate(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if self::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The terminal width of `text`.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}
