//! google-authenticator-libpam's per-user file (`~/.google_authenticator`), read
//! strictly, for `import --google-authenticator`.
//!
//! The format, as `google-authenticator` writes it and `pam_google_authenticator.so`
//! reads it: the first line is the base32 secret; option lines start with `" ` (a
//! double quote and a space) followed by a name and its values (`" TOTP_AUTH`,
//! `" WINDOW_SIZE 17`, `" RATE_LIMIT 3 30 1764158400`, …); every other line is an
//! eight-digit scratch code (10000000 to 99999999), at most ten of them.
//!
//! The module itself is lenient: it ignores what it cannot parse. An import must not
//! be: a file it cannot read exactly is refused with the reason, so that nothing is
//! carried over half-understood. What can be carried over is (the secret, the step
//! size, the scratch codes); what cannot is listed, option by option, with what
//! totpctl does instead ([`GaFile::not_carried_over`]).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::domain::otp::{Algorithm, Params};

mod file;
mod notes;

pub use file::*;
pub use notes::*;

/// A file as read from disk: its text (which holds the secret) and its owner.
pub struct ReadFile {
    pub text: Zeroizing<String>,
    pub uid: u32,
    pub mode: u32,
}

/// Reads a google-authenticator file: a regular file (a symbolic link is refused, so
/// that one user's link cannot import another user's secret under their name), not
/// empty, at most [`MAX_FILE_SIZE`] bytes, text. The error is the reason, for people.
pub fn read_file(path: &Path) -> Result<ReadFile, String> {
    // Not following a link, and not blocking on a FIFO.
    let file = crate::base::files::open_for_check(path, true)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::errno::Errno::ELOOP as i32 => {
                "it is a symbolic link; give the file itself".to_string()
            }
            _ => format!("cannot read it: {}", io_reason(&e)),
        })?
        .ok_or_else(|| "it does not exist".to_string())?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read it: {}", io_reason(&e)))?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_string());
    }
    if meta.len() == 0 {
        return Err("it is empty".to_string());
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(format!(
            "it is {} bytes, more than a google-authenticator file can be ({} at most)",
            meta.len(),
            MAX_FILE_SIZE
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    // The file could grow after the check: never read past the cap.
    (&file)
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {}", io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!("it is larger than {MAX_FILE_SIZE} bytes"));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) if !t.contains('\0') => Zeroizing::new(t.to_string()),
        _ => return Err("it is not a text file".to_string()),
    };
    Ok(ReadFile {
        text,
        uid: meta.uid(),
        mode: meta.mode() & 0o7777,
    })
}

fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    // "No such file or directory (os error 2)" reads better without the number.
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Parses the text of a file. On failure, every problem found, each naming its line
/// where it has one, none quoting the secret or a scratch code.
pub fn parse(text: &str) -> Result<GaFile, Vec<String>> {
    let mut problems = Vec::new();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let secret = match lines.next() {
        Some(first) => match decode_secret(first) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(format!("line 1: {e}"));
                None
            }
        },
        None => None,
    };
    let mut options: Vec<GaOption> = Vec::new();
    let mut seen_names: Vec<String> = Vec::new();
    let mut hotp = false;
    let mut scratch_codes: Vec<Zeroizing<String>> = Vec::new();
    let mut duplicate_scratch_codes = 0;
    let mut scratch_lines = 0;
    for (index, line) in lines.enumerate() {
        let n = index + 2;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("\" ") {
            let mut words = rest.split_ascii_whitespace();
            let Some(name) = words.next() else {
                problems.push(format!("line {n}: an option line without a name"));
                continue;
            };
            let values: Vec<&str> = words.collect();
            if seen_names.iter().any(|s| s == name) {
                problems.push(format!(
                    "line {n}: option {} appears twice",
                    printable_name(name)
                ));
                continue;
            }
            seen_names.push(name.to_string());
            if name == "HOTP_COUNTER" {
                hotp = true;
                continue;
            }
            match parse_option(name, &values) {
                Ok(option) => options.push(option),
                Err(e) => problems.push(format!("line {n}: {e}")),
            }
        } else if line.starts_with('"') {
            problems.push(format!(
                "line {n}: an option line must start with '\" ' (a double quote and a space)"
            ));
        } else if line.bytes().all(|b| b.is_ascii_digit()) {
            scratch_lines += 1;
            if line.len() != SCRATCH_CODE_LEN || line.starts_with('0') {
                // Never quote it: it is a credential.
                problems.push(format!(
                    "line {n}: a scratch code must be eight digits, 10000000 to 99999999 \
                     (this one has {} digits{})",
                    line.len(),
                    if line.starts_with('0') && line.len() == SCRATCH_CODE_LEN {
                        " and starts with 0"
                    } else {
                        ""
                    }
                ));
            } else if scratch_codes.iter().any(|c| c.as_str() == line) {
                duplicate_scratch_codes += 1;
            } else {
                scratch_codes.push(Zeroizing::new(line.to_string()));
            }
        } else {
            problems.push(format!(
                "line {n} is neither an option line ('\" NAME') nor an eight-digit scratch code"
            ));
        }
    }
    if scratch_lines > MAX_SCRATCH_CODES {
        problems.push(format!(
            "it has {scratch_lines} scratch codes; google-authenticator writes at most \
             {MAX_SCRATCH_CODES}"
        ));
    }
    let totp = options.contains(&GaOption::TotpAuth);
    if hotp {
        problems.push(HOTP_PROBLEM.to_string());
    } else if !totp {
        problems.push(
            "it has no TOTP_AUTH line, so google-authenticator treats it as counter-based \
             (HOTP): totpctl verifies time-based codes only"
                .to_string(),
        );
    }
    let step = options
        .iter()
        .find_map(|o| match o {
            GaOption::StepSize(s) => Some(*s),
            _ => None,
        })
        .unwrap_or(30);
    match (secret, problems.is_empty()) {
        (Some(secret), true) => {
            let params = Params::new(Algorithm::Sha1, 6, step).map_err(|e| vec![e])?;
            Ok(GaFile {
                secret,
                params,
                scratch_codes,
                duplicate_scratch_codes,
                options,
            })
        }
        _ => Err(problems),
    }
}

/// An option name fit to print: the module's names are upper-case ASCII; anything
/// else is shown escaped and cut short.
fn printable_name(name: &str) -> String {
    let mut shown: String = name
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    if name.chars().count() > 40 {
        shown.push('…');
    }
    shown
}

fn parse_option(name: &str, values: &[&str]) -> Result<GaOption, String> {
    let number = |text: &str, range: std::ops::RangeInclusive<u32>| -> Result<u32, String> {
        text.parse::<u32>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                format!(
                    "{name} must be a number from {} to {}, not '{}'",
                    range.start(),
                    range.end(),
                    printable_name(text)
                )
            })
    };
    let integers = |texts: &[&str]| -> Result<Vec<i64>, String> {
        texts
            .iter()
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| format!("{name}: '{}' is not a number", printable_name(t)))
            })
            .collect()
    };
    let one = || -> Result<&str, String> {
        match values {
            [v] => Ok(v),
            [] => Err(format!("{name} needs a value")),
            _ => Err(format!("{name} takes one value")),
        }
    };
    Ok(match name {
        "TOTP_AUTH" => {
            if !values.is_empty() {
                return Err("TOTP_AUTH takes no value".to_string());
            }
            GaOption::TotpAuth
        }
        // The module's limits: WINDOW_SIZE 1..100, STEP_SIZE 1..60.
        "WINDOW_SIZE" => GaOption::WindowSize(number(one()?, 1..=100)?),
        "STEP_SIZE" => GaOption::StepSize(number(one()?, 1..=60)?),
        "DISALLOW_REUSE" => GaOption::DisallowReuse {
            used_steps: integers(values)?,
        },
        "RATE_LIMIT" => {
            let [attempts, seconds, times @ ..] = values else {
                return Err("RATE_LIMIT needs a number of logins and a number of seconds".into());
            };
            integers(times)?;
            GaOption::RateLimit {
                attempts: number(attempts, 1..=100)?,
                seconds: number(seconds, 1..=3600)?,
            }
        }
        "TIME_SKEW" => GaOption::TimeSkew(integers(&[one()?])?[0]),
        "RESETTING_TIME_SKEW" => GaOption::ResettingTimeSkew,
        other => GaOption::Unknown(printable_name(other)),
    })
}

/// Decodes the secret line as the module does: base32 in either case, spaces, tabs
/// and hyphens ignored, 0/1/8 read as O/L/B, bits short of a byte at the end
/// dropped. Refuses anything else, and secrets shorter than 80 bits or longer than
/// 64 bytes. The error never quotes the secret.
fn decode_secret(line: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut out = Zeroizing::new(Vec::with_capacity(line.len() * 5 / 8 + 1));
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let mut chars = 0usize;
    for (i, c) in line.chars().enumerate() {
        let c = match c {
            ' ' | '\t' | '-' => continue,
            '0' => 'O',
            '1' => 'L',
            '8' => 'B',
            c => c.to_ascii_uppercase(),
        };
        let value = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => {
                return Err(format!(
                    "the secret is not base32: character {} is not a letter or a digit 2-7 \
                     (is the first line the secret?)",
                    i + 1
                ));
            }
        };
        chars += 1;
        buffer = (buffer << 5 | value) & 0xffff;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    if chars == 0 {
        return Err("the first line, which holds the secret, is empty".to_string());
    }
    if out.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the secret is {} bits; at least {} are needed",
            out.len() * 8,
            MIN_SECRET_BYTES * 8
        ));
    }
    if out.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "the secret is {} bytes; at most {MAX_SECRET_BYTES} are supported",
            out.len()
        ));
    }
    if let Some(problem) = crate::domain::otp::degenerate(&out) {
        return Err(problem);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GMHSEBTUURAZXGHPBWMNI4T2LE";

    fn file(body: &str) -> String {
        format!("{SECRET}\n{body}")
    }

    #[test]
    fn the_tools_own_output_parses() {
        let f = parse(&file(
            "\" RATE_LIMIT 3 30 1764158400\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE 58805280\n\
             \" TOTP_AUTH\n65022048\n91139365\n",
        ))
        .unwrap();
        assert_eq!(f.secret.len(), 16);
        assert_eq!(f.params.period, 30);
        assert_eq!(f.params.digits, 6);
        assert_eq!(f.scratch_codes.len(), 2);
        assert_eq!(f.replay_watermark(), Some(58805280));
        let policy = Policy {
            window: 1,
            lockout_attempts: 10,
            lockout_seconds: 3600,
            store_arg: None,
        };
        let notes = f.not_carried_over(&policy);
        let names: Vec<&str> = notes.iter().map(|n| n.option.as_str()).collect();
        // WINDOW_SIZE 3 is the store's window of 1, and DISALLOW_REUSE what totpctl
        // always does: neither is lost.
        assert_eq!(names, ["RATE_LIMIT 3 30"]);
        let wider = Policy {
            window: 2,
            ..policy
        };
        let notes = f.not_carried_over(&wider);
        let names: Vec<&str> = notes.iter().map(|n| n.option.as_str()).collect();
        assert_eq!(names, ["RATE_LIMIT 3 30", "WINDOW_SIZE 3"]);
    }

    #[test]
    fn the_secret_decodes_as_the_module_decodes_it() {
        let plain = decode_secret("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(&plain[..], b"Hello!\xde\xad\xbe\xef");
        assert_eq!(decode_secret("jbsw y3dp-ehpk3pxp").unwrap(), plain);
        // 0, 1 and 8 are read as O, L and B.
        assert_eq!(
            decode_secret("JBSWY3DPEHPK3PXP").unwrap(),
            decode_secret("J8SWY3DPEHPK3PXP").unwrap()
        );
    }

    #[test]
    fn bad_files_are_refused_with_every_reason() {
        let problems = parse("JBSWY3DP\n\" HOTP_COUNTER 1\n1234\nhello\n").unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("line 1") && problems[0].contains("40 bits"));
        assert!(problems[1].contains("line 3") && !problems[1].contains("1234"));
        assert!(problems[2].contains("line 4"));
        assert!(problems[3].contains("counter-based"));
        let too_long = "A".repeat(110);
        assert!(parse(&format!("{too_long}\n\" TOTP_AUTH\n")).unwrap_err()[0].contains("bytes"));
        assert!(parse(&file("12345678\n")).unwrap_err()[0].contains("no TOTP_AUTH"));
        assert!(parse(&file("\" TOTP_AUTH\n01234567\n")).is_err());
        assert!(parse(&file("\" TOTP_AUTH\n\" STEP_SIZE 90\n")).is_err());
        assert!(parse(&file("\" TOTP_AUTH\n\" WINDOW_SIZE 3\n\" WINDOW_SIZE 5\n")).is_err());
        assert!(parse("S3CR*T\n\" TOTP_AUTH\n").unwrap_err()[0].contains("not base32"));
        let eleven: String = (0..11).map(|i| format!("{}\n", 10000000 + i)).collect();
        assert!(parse(&file(&format!("\" TOTP_AUTH\n{eleven}"))).is_err());
    }

    #[test]
    fn a_step_size_is_kept_not_listed_as_lost() {
        let f = parse(&file("\" STEP_SIZE 60\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n")).unwrap();
        assert_eq!(f.params.period, 60);
        let policy = Policy {
            window: 1,
            lockout_attempts: 0,
            lockout_seconds: 3600,
            store_arg: None,
        };
        let notes = f.not_carried_over(&policy);
        assert!(
            notes.is_empty(),
            "{:?}",
            notes.iter().map(|n| &n.option).collect::<Vec<_>>()
        );
    }
}
