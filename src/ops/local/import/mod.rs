//! `import`: bulk enrollment of existing secrets from otpauth:// URIs, all or nothing.

mod input;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::base::text::{plural, printable};
use crate::domain::config::Settings;
use crate::domain::names::check_name;
use crate::domain::otp;
use crate::ops::context::Context;
use crate::ops::requests::{ImportInput, ImportRequest, Imported, NewStore, Progress};
use crate::ops::views::ImportView;
use crate::store::{self, Session, Store};
use input::{Line, MAX_LINE, read_line_capped, twice};

/// Imports every line of `req`, all or nothing: every bad line is reported in one
/// run; into a store that does not exist yet, every line is checked before the store
/// (and its key) is made.
pub fn import(l: &Local, cx: &Context, req: &mut ImportRequest<'_>) -> Result<Imported> {
    let (reader, name, path_to_reread): (Box<dyn BufRead + '_>, String, Option<PathBuf>) =
        match std::mem::replace(
            &mut req.input,
            ImportInput::Stream {
                reader: Box::new(io::empty()),
                name: String::new(),
            },
        ) {
            ImportInput::File(path) => {
                let file = File::open(&path)
                    .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
                if file.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(invalid(format!(
                        "cannot read {}: it is a directory; give a file of otpauth:// URIs, \
                         or - for stdin",
                        path.display()
                    )));
                }
                let name = path.display().to_string();
                (
                    Box::new(BufReader::with_capacity(1 << 16, file)),
                    name,
                    Some(path),
                )
            }
            ImportInput::Stream { reader, name } => (Box::new(BufReader::new(reader)), name, None),
        };
    let options = Options {
        unverified: req.unverified,
        skip_existing: req.skip_existing,
        dry_run: req.dry_run,
    };
    let now = cx.now_str();
    let path = l.store_path();
    let lines = Lines {
        args: &options,
        name: &name,
        now: &now,
        progress: req.progress,
    };
    // A store (and key file) this import made, which it announces as enroll does.
    let mut made = None;
    let (view, problems, warnings, backup_codes_on) = if req.dry_run {
        // A dry run seals nothing, so it needs no key, and it creates no store.
        let mut existing = Store::open_existing(&l.location, &l.access)?;
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
        let reader = if Store::open_existing(&l.location, &l.access)?.is_none() {
            let (first, second) = twice(reader, path_to_reread.as_deref())?;
            let checking = Lines {
                progress: None,
                ..lines
            };
            let (_, problems, _) = checking.check(first, None, None, &Settings::default())?;
            if problems.total > 0 {
                return Err(problems.into_error(name));
            }
            second
        } else {
            reader
        };
        let mut store = l.open_store()?;
        let mut session = l.session(cx, &mut store, true)?;
        let settings = session.settings().clone();
        let (view, problems, warnings) =
            lines.check(reader, None, Some(&mut session), &settings)?;
        // With a bad line, dropping the session rolls back what went in before it.
        if problems.total == 0 {
            if session.created_keys {
                made = Some(NewStore {
                    store: session.path().to_path_buf(),
                    key_file: session.key_source().key_file.clone(),
                });
            }
            session.commit()?;
        }
        (view, problems, warnings, settings.backup_codes)
    };
    if problems.total > 0 {
        return Err(problems.into_error(name));
    }
    Ok(Imported {
        view,
        warnings,
        backup_codes_on,
        created: made,
    })
}

/// Warnings of weak secrets listed one by one before they are only counted.
pub const MAX_WARNINGS: u64 = 10;

/// Secrets shorter than this many bytes (128 bits) draw a warning.
const STRONG_SECRET: usize = 16;
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

/// What every line is checked with.
struct Lines<'a> {
    args: &'a Options,
    name: &'a str,
    now: &'a str,
    progress: Option<&'a dyn Progress>,
}

/// The options of [`ImportRequest`] the lines are checked with.
struct Options {
    unverified: bool,
    skip_existing: bool,
    dry_run: bool,
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
            if let Some(progress) = self.progress
                && n % 1024 == 0
            {
                progress.update(bytes_read, view.imported);
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
                .and_then(|()| crate::domain::names::check_new_account(&uri.account))
                .and_then(|()| {
                    uri.issuer
                        .as_deref()
                        .map_or(Ok(()), |i| check_name("issuer", i))
                })
            {
                problems.add(n, crate::base::error::one_line(&e));
                continue;
            }
            let skeleton = crate::domain::names::skeleton(&uri.account);
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
                    crate::base::error::one_line(&crate::domain::names::look_alike(
                        &uri.account,
                        &other,
                    )),
                );
                continue;
            }
            skeletons.insert(skeleton, uri.account.clone());
            let issuer = uri.issuer.as_deref().unwrap_or(&settings.issuer);
            let id = uuid::Uuid::now_v7().to_string();
            let mut e = store::Enrollment {
                totp: crate::domain::model::Totp {
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
                        problems.add(n, crate::base::error::one_line(&err));
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
    matches!(
        crate::base::error::classify(err),
        Some(Error::InvalidArgument(_))
    )
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

    /// The error for the whole file: one bad line is the error's message; of more, a
    /// summary, with the lines listed in the error (a front end shows them).
    fn into_error(self, name: String) -> anyhow::Error {
        let summary = match self.listed.as_slice() {
            [(line, message)] if self.total == 1 => {
                format!("{name} line {line}: {message}; nothing was imported")
            }
            _ => format!(
                "{} in {name}; nothing was imported",
                plural(self.total, "bad line")
            ),
        };
        Error::BadLines {
            summary,
            input: name,
            total: self.total,
            lines: self.listed,
        }
        .into()
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
