//! `import`: bulk enrollment of existing secrets from otpauth:// URIs, all or nothing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use crate::Ctx;
use crate::cli::ImportArgs;
use crate::config::Settings;
use crate::error::{Error, Exit, invalid};
use crate::otp::{self, printable};
use crate::output::{check_name, plural};
use crate::store::{self, Session, Store};

/// The longest line read: a URI with a 64-byte secret and the longest account and
/// issuer, percent-encoded, fits several times over. A longer line is reported
/// without being held in memory.
const MAX_LINE: usize = 16 * 1024;
/// Secrets shorter than this many bytes (128 bits) draw a warning.
const STRONG_SECRET: usize = 16;
/// Warnings printed one by one before they are only counted.
const MAX_WARNINGS: u64 = 10;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportView {
    imported: u64,
    skipped: u64,
    weak_secrets: u64,
    verified: bool,
    /// How many of the imported enrollments have no backup code (all of them).
    without_backup_codes: u64,
    dry_run: bool,
}

/// The detail of an `imported` event. Its fields are in the order `json!` sorts them
/// into, so the text (which the audit chain hashes) is what it has always been.
#[derive(Serialize)]
struct ImportedDetail<'a> {
    algorithm: &'a str,
    digits: u8,
    issuer: &'a str,
    period: u32,
    verified: bool,
    #[serde(rename = "weakSecret")]
    weak_secret: bool,
}

pub fn run(args: &ImportArgs, ctx: &Ctx) -> Result<Exit> {
    if !args.google_authenticator.is_empty() {
        return super::import_ga::run(args, ctx);
    }
    let from_stdin = args.file.as_os_str() == "-";
    if from_stdin && io::stdin().is_terminal() {
        return Err(invalid(
            "no FILE given and stdin is a terminal: pass a file, or pipe the URIs in",
        ));
    }
    let (reader, total_bytes): (Box<dyn BufRead>, Option<u64>) = if from_stdin {
        (Box::new(BufReader::new(io::stdin().lock())), None)
    } else {
        let file = File::open(&args.file)
            .map_err(|e| invalid(format!("cannot read {}: {e}", args.file.display())))?;
        let meta = file.metadata().ok();
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(invalid(format!(
                "cannot read {}: it is a directory; give a file of otpauth:// URIs, or - for stdin",
                args.file.display()
            )));
        }
        let len = meta.map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 16, file)), len)
    };
    let name = if from_stdin {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };

    let progress = (!ctx.out.json && io::stderr().is_terminal()).then(|| {
        let bar = match total_bytes {
            Some(len) => indicatif::ProgressBar::new(len).with_style(
                indicatif::ProgressStyle::with_template(
                    "importing {bar:40} {percent:>3}% {msg} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            ),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
        bar
    });

    let now = ctx.now_str();
    let path = ctx.store_path.clone();
    let lines = Lines {
        args,
        name: &name,
        now: &now,
        progress: progress.as_ref(),
    };
    // A store (and key file) this import made, which it announces as enroll does.
    let mut made: Option<(std::path::PathBuf, Option<std::path::PathBuf>)> = None;
    let (view, problems, warnings, backup_codes_on) = if args.dry_run {
        // A dry run seals nothing, so it needs no key, and it creates no store.
        let mut existing = Store::open_existing(&ctx.location, &ctx.access)?;
        let settings = match existing.as_mut() {
            Some(s) => Settings::from_pairs(&s.config_pairs()?, &path)?,
            None => Settings::default(),
        };
        let (view, problems, warnings) = lines.check(reader, existing.as_mut(), None, &settings)?;
        (view, problems, warnings, settings.backup_codes)
    } else {
        // Into a store that does not exist yet, every line is checked before the store
        // (and its key) is made: a refused import leaves no empty store behind, which
        // a later `verify` at that path would read as "not enrolled".
        let reader = if Store::open_existing(&ctx.location, &ctx.access)?.is_none() {
            let (first, second) = twice(reader, &args.file, from_stdin)?;
            let checking = Lines {
                progress: None,
                ..lines
            };
            let (_, problems, _) = checking.check(first, None, None, &Settings::default())?;
            if problems.total > 0 {
                if let Some(bar) = progress {
                    bar.finish_and_clear();
                }
                return Err(problems.into_error(name, ctx.out.json));
            }
            second
        } else {
            reader
        };
        let mut store = ctx.open_store()?;
        let mut session = ctx.session(&mut store, true)?;
        let settings = session.settings().clone();
        let (view, problems, warnings) =
            lines.check(reader, None, Some(&mut session), &settings)?;
        // With a bad line, dropping the session rolls back what went in before it.
        if problems.total == 0 {
            if session.created_keys {
                made = Some((
                    session.path().to_path_buf(),
                    session.key_source().key_file.clone(),
                ));
            }
            session.commit()?;
        }
        (view, problems, warnings, settings.backup_codes)
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if problems.total > 0 {
        return Err(problems.into_error(name, ctx.out.json));
    }
    let verified = view.verified;

    let mut err = io::stderr().lock();
    for warning in &warnings {
        writeln!(err, "totpctl: warning: {warning}")?;
    }
    if view.weak_secrets > MAX_WARNINGS {
        writeln!(
            err,
            "totpctl: warning: {} more secrets shorter than 128 bits",
            view.weak_secrets - MAX_WARNINGS
        )?;
    }
    let out = &ctx.out;
    if out.json {
        out.json(&view)?;
        return Ok(Exit::Success);
    }
    let mut w = out.stdout();
    writeln!(
        w,
        "{} {} as {}{}{}",
        if args.dry_run {
            "Checked: would import"
        } else {
            "Imported"
        },
        plural(view.imported, "account"),
        if verified { "verified" } else { "unverified" },
        if view.skipped > 0 {
            format!(", skipped {} already enrolled", view.skipped)
        } else {
            String::new()
        },
        if view.weak_secrets > 0 {
            format!(", {} with weak secrets", view.weak_secrets)
        } else {
            String::new()
        },
    )?;
    if view.without_backup_codes > 0 {
        let count = if view.without_backup_codes == 1 {
            "It has".to_string()
        } else {
            format!("All {} have", view.without_backup_codes)
        };
        if verified {
            writeln!(
                w,
                "{count} no backup codes; make them for each account with: {}",
                ctx.command_line(&["backup-codes", "ACCOUNT"])
            )?;
        } else if backup_codes_on {
            writeln!(
                w,
                "{count} no backup codes yet; each gets them with its first accepted code"
            )?;
        }
    }
    if args.dry_run {
        writeln!(w, "Dry run: nothing was changed.")?;
    }
    if let Some((store, key)) = made {
        out.new_store(&mut w, &store, key.as_deref())?;
    }
    w.flush()?;
    Ok(Exit::Success)
}

/// What every line is checked with.
struct Lines<'a> {
    args: &'a ImportArgs,
    name: &'a str,
    now: &'a str,
    progress: Option<&'a indicatif::ProgressBar>,
}

impl Lines<'_> {
    /// Checks every line, and imports the good ones through `writer` until the first
    /// bad one: after it nothing will be imported, and the rest is only checked.
    /// `conn` answers "is it enrolled already?" when nothing is written (None: there
    /// is no store yet).
    fn check(
        &self,
        mut reader: Box<dyn BufRead + '_>,
        mut existing: Option<&mut Store>,
        mut writer: Option<&mut Session<'_>>,
        settings: &Settings,
    ) -> Result<(ImportView, Problems, Vec<String>)> {
        let (args, name, now) = (self.args, self.name, self.now);
        let verified = !args.unverified;
        // Each account of the file so far, by its skeleton: a second line with the same
        // name, or with a name that looks like it, is refused.
        let mut skeletons: std::collections::HashMap<String, String> =
            std::collections::HashMap::new();
        let mut view = ImportView {
            imported: 0,
            skipped: 0,
            weak_secrets: 0,
            verified,
            without_backup_codes: 0,
            dry_run: args.dry_run,
        };
        let mut problems = Problems::default();
        let mut warnings = Vec::new();
        let mut bytes_read = 0u64;
        let mut detail = Vec::with_capacity(256);
        let mut buf = Vec::with_capacity(MAX_LINE);
        let mut n = 0u64;
        loop {
            n += 1;
            let read = read_line_capped(&mut reader, &mut buf).map_err(|e| {
                anyhow::Error::new(e).context(format!("{name}: cannot read line {n}"))
            })?;
            let line = match read {
                Line::End => break,
                Line::TooLong(len) => {
                    bytes_read += len;
                    problems.add(
                        n,
                        format!("longer than {MAX_LINE} bytes, which no otpauth:// URI is"),
                    );
                    continue;
                }
                Line::Text(len) => {
                    bytes_read += len;
                    match std::str::from_utf8(&buf) {
                        Ok(line) => line,
                        Err(_) => {
                            problems.add(n, "not valid UTF-8".into());
                            continue;
                        }
                    }
                }
            };
            if let Some(bar) = self.progress
                && n % 1024 == 0
            {
                bar.set_position(bytes_read);
                bar.set_message(format!("{} accounts", view.imported));
            }
            // Files saved by Windows tools often start with a byte-order mark.
            let text = if n == 1 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            }
            .trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let uri = match otp::parse_uri(text) {
                Ok(uri) => uri,
                Err(msg) => {
                    problems.add(n, msg);
                    continue;
                }
            };
            if let Err(e) = check_name("account", &uri.account)
                .and_then(|()| crate::names::check_new_account(&uri.account))
                .and_then(|()| {
                    uri.issuer
                        .as_deref()
                        .map_or(Ok(()), |i| check_name("issuer", i))
                })
            {
                problems.add(n, crate::error::one_line(&e));
                continue;
            }
            let skeleton = crate::names::skeleton(&uri.account);
            if skeletons.get(&skeleton) == Some(&uri.account) {
                problems.add(
                    n,
                    format!(
                        "account '{}' appears twice in the file",
                        printable(&uri.account)
                    ),
                );
                continue;
            }
            // A look-alike of another line's account, or (when only checking) of an
            // enrolled one; the insert itself refuses one it would write.
            let like = match skeletons.get(&skeleton) {
                Some(other) => Some(other.clone()),
                None => match (existing.as_mut(), writer.as_ref()) {
                    (Some(s), _) => s.account_like(&uri.account)?,
                    (None, Some(wr)) if problems.total > 0 => wr.account_like(&uri.account)?,
                    _ => None,
                },
            };
            if let Some(other) = like {
                problems.add(
                    n,
                    crate::error::one_line(&crate::names::look_alike(&uri.account, &other)),
                );
                continue;
            }
            skeletons.insert(skeleton, uri.account.clone());
            let issuer = uri.issuer.as_deref().unwrap_or(&settings.issuer);
            let id = uuid::Uuid::now_v7().to_string();
            let mut e = store::Enrollment {
                totp: store::Totp {
                    id: id.clone(),
                    account: uri.account.clone(),
                    issuer: issuer.to_string(),
                    params: uri.params,
                    verified,
                    last_step: None,
                    last_used_at: None,
                    failed_attempts: 0,
                    locked_until: None,
                    created_at: now.to_string(),
                    updated_at: now.to_string(),
                    backup_codes_remaining: 0,
                    mac: None,
                },
                backup_hashes: Vec::new(),
                sealed: None,
            };
            let new = match writer.as_mut().filter(|_| problems.total == 0) {
                Some(wr) => match wr.insert(&mut e, &uri.secret) {
                    Ok(new) => new,
                    Err(err) if is_invalid(&err) => {
                        problems.add(n, crate::error::one_line(&err));
                        continue;
                    }
                    Err(err) => return Err(err),
                },
                // Only checking: is the account taken already?
                None => match (existing.as_mut(), writer.as_ref()) {
                    (Some(s), _) => !s.is_enrolled(&uri.account)?,
                    (None, Some(wr)) => !wr.is_enrolled(&uri.account)?,
                    (None, None) => true,
                },
            };
            if !new {
                if args.skip_existing {
                    view.skipped += 1;
                } else {
                    problems.add(
                        n,
                        format!(
                            "account '{}' is already enrolled (pass --skip-existing to leave \
                             it as it is)",
                            printable(&uri.account)
                        ),
                    );
                }
                continue;
            }
            let weak_secret = uri.secret.len() < STRONG_SECRET;
            if weak_secret {
                view.weak_secrets += 1;
                if view.weak_secrets <= MAX_WARNINGS {
                    warnings.push(format!(
                        "line {n}: the secret of '{}' is only {} bits (128 or more is \
                         recommended)",
                        printable(&uri.account),
                        uri.secret.len() * 8
                    ));
                }
            }
            view.imported += 1;
            let Some(wr) = writer.as_mut().filter(|_| problems.total == 0) else {
                continue;
            };
            detail.clear();
            serde_json::to_writer(
                &mut detail,
                &ImportedDetail {
                    algorithm: uri.params.algorithm.as_str(),
                    digits: uri.params.digits,
                    issuer,
                    period: uri.params.period,
                    verified,
                    weak_secret,
                },
            )?;
            wr.event_with_state(
                "imported",
                Some(&uri.account),
                Some(&id),
                std::str::from_utf8(&detail)?,
                Some(&e.digest()),
            )?;
        }
        // Imported enrollments have no backup codes yet.
        view.without_backup_codes = view.imported;
        Ok((view, problems, warnings))
    }
}

/// Whether `err` is bad input (a look-alike account), reported as the line's problem.
fn is_invalid(err: &anyhow::Error) -> bool {
    matches!(crate::error::classify(err), Some(Error::InvalidArgument(_)))
}

/// Bad lines, the first [`MAX_PROBLEMS`] with their messages.
#[derive(Default)]
struct Problems {
    listed: Vec<(u64, String)>,
    total: u64,
}

/// Bad lines reported one by one before they are only counted.
const MAX_PROBLEMS: usize = 100;

impl Problems {
    fn add(&mut self, line: u64, message: String) {
        self.total += 1;
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push((line, message));
        }
    }

    /// The error for the whole file. One bad line is the error's message; of more,
    /// for people, each listed line goes to stderr first, one a line, and with --json
    /// they travel in the error object.
    fn into_error(self, name: String, json: bool) -> anyhow::Error {
        let summary = match self.listed.as_slice() {
            [(line, message)] if self.total == 1 => {
                format!("{name} line {line}: {message}; nothing was imported")
            }
            _ => {
                if !json {
                    let mut err = io::stderr().lock();
                    for (line, message) in &self.listed {
                        let _ = writeln!(err, "totpctl: {name} line {line}: {message}");
                    }
                    let more = self.total - self.listed.len() as u64;
                    if more > 0 {
                        let _ = writeln!(err, "totpctl: … and {}", plural(more, "more bad line"));
                    }
                }
                format!(
                    "{} in {name}; nothing was imported",
                    plural(self.total, "bad line")
                )
            }
        };
        Error::BadLines {
            summary,
            total: self.total,
            lines: self.listed,
        }
        .into()
    }
}

/// The most a new store's import keeps of stdin in memory, to read it twice.
const MAX_STDIN: u64 = 512 << 20;

/// Two readers of the same input: a file is opened again; stdin is read into memory
/// (it cannot be read twice), up to [`MAX_STDIN`].
fn twice<'a>(
    reader: Box<dyn BufRead + 'a>,
    file: &std::path::Path,
    from_stdin: bool,
) -> Result<(Box<dyn BufRead + 'a>, Box<dyn BufRead + 'a>)> {
    use std::io::Read;
    if !from_stdin {
        let again = File::open(file)
            .map_err(|e| invalid(format!("cannot read {}: {e}", file.display())))?;
        return Ok((reader, Box::new(BufReader::with_capacity(1 << 16, again))));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    reader
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::Error::new(e).context("cannot read stdin"))?;
    if bytes.len() as u64 > MAX_STDIN {
        return Err(invalid(format!(
            "stdin holds more than {} MiB: to import that much into a new store, give \
             the file itself",
            MAX_STDIN >> 20
        )));
    }
    let shared = std::rc::Rc::new(bytes);
    Ok((
        Box::new(io::Cursor::new(SharedBytes(shared.clone()))),
        Box::new(io::Cursor::new(SharedBytes(shared))),
    ))
}

/// Bytes read once and read twice, wiped when the last reader is done.
struct SharedBytes(std::rc::Rc<zeroize::Zeroizing<Vec<u8>>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One line read by [`read_line_capped`].
enum Line {
    /// The line is in the buffer, without its line ending; it took this many bytes.
    Text(u64),
    /// The line was longer than [`MAX_LINE`] and was skipped; it took this many bytes.
    TooLong(u64),
    End,
}

/// Reads one line into `buf` without ever holding more than [`MAX_LINE`] bytes of it:
/// the rest of a longer line is read and dropped.
fn read_line_capped(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut taken = 0u64;
    let mut too_long = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (taken, too_long) {
                (0, _) => Line::End,
                (_, true) => Line::TooLong(taken),
                (_, false) => Line::Text(taken),
            });
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(chunk.len());
        taken += used as u64;
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long {
                Line::TooLong(taken)
            } else {
                Line::Text(taken)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_detail_is_the_json_object_it_replaced() {
        let detail = ImportedDetail {
            algorithm: "SHA256",
            digits: 8,
            issuer: "Example \"Corp\"",
            period: 60,
            verified: true,
            weak_secret: false,
        };
        let expected = serde_json::json!({
            "issuer": "Example \"Corp\"",
            "algorithm": "SHA256",
            "digits": 8,
            "period": 60,
            "verified": true,
            "weakSecret": false,
        });
        assert_eq!(
            serde_json::to_string(&detail).unwrap(),
            expected.to_string()
        );
    }
}
