//! Everything printed: JSON views (never database rows), the human forms, colour,
//! and the sanitising of text that came from the store or the user.

use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::base::text::sanitize;

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

/// Prints `totpctl: warning: MESSAGE` on stderr (a warning that cannot be printed is
/// not an error of its own).
pub fn warn(message: &str) {
    let _ = writeln!(
        io::stderr().lock(),
        "totpctl: warning: {}",
        sanitize(message)
    );
}

/// Prints `totpctl: MESSAGE` on stderr: what people should know beside what stdout
/// carries for a script.
pub fn note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "totpctl: {}", sanitize(message));
}
