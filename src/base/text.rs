//! Text shown to people: untrusted names made safe for a terminal, shell words and
//! command lines that paste as they are, widths, padding and plurals. The bottom of
//! the house: it uses nothing of totpctl's but the errors.

use std::path::Path;

/// Whether a character could change what a terminal shows beyond itself: controls
/// (C0, DEL, C1) and the Unicode bidirectional overrides and isolates.
pub fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: zero-width spaces and joiners, the word joiner and
/// invisible operators, the soft hyphen, the byte-order mark, the Mongolian vowel
/// separator, the combining grapheme joiner, Hangul fillers and the tag characters.
pub fn is_invisible(c: char) -> bool {
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

/// Quotes untrusted text for an error message: control characters escaped, length
/// bounded.
pub fn printable(text: &str) -> String {
    let mut out: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// A stored time as people read it: `2026-11-26 12:00:00 UTC`.
/// A stored time as people read it: `2026-11-26 12:00:00 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => sanitize(rfc3339),
    }
}
