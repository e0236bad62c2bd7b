//! `import`: bulk enrollment of existing secrets from otpauth:// URIs, all or nothing.

use std::collections::HashSet;
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
use crate::store::{self, SqlContext};
use crate::vault::Vault;

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
        path: &path,
        progress: progress.as_ref(),
    };
    let (view, problems, warnings, backup_codes_on) = if args.dry_run {
        // A dry run seals nothing, so it needs no key, and it creates no store.
        let existing = ctx.existing_store()?;
        let conn = existing.as_ref().map(|s| s.conn());
        let settings = match conn {
            Some(c) => Settings::load(c, &path)?,
            None => Settings::default(),
        };
        let (view, problems, warnings) = lines.check(reader, conn, None, &settings)?;
        (view, problems, warnings, settings.backup_codes)
    } else {
        let mut store = ctx.open_store()?;
        let tx = store.write()?;
        let settings = Settings::load(&tx, &path)?;
        let vault = Vault::unlock_or_init(&tx, &path, ctx.interactive, &now)?;
        let writer = Writer {
            inserter: store::Inserter::new(&tx).sql(&path)?,
            events: store::EventAppender::new(&tx).sql(&path)?,
            vault: &vault,
        };
        let (view, problems, warnings) = lines.check(reader, Some(&tx), Some(writer), &settings)?;
        // With a bad line, dropping the transaction rolls back what went in before it.
        if problems.total == 0 {
            tx.commit().sql(&path)?;
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
    w.flush()?;
    Ok(Exit::Success)
}

/// What every line is checked with.
struct Lines<'a> {
    args: &'a ImportArgs,
    name: &'a str,
    now: &'a str,
    path: &'a std::path::Path,
    progress: Option<&'a indicatif::ProgressBar>,
}

/// Where good lines go, in a real import.
struct Writer<'c> {
    inserter: store::Inserter<'c>,
    events: store::EventAppender<'c>,
    vault: &'c Vault,
}

impl Lines<'_> {
    /// Checks every line, and imports the good ones through `writer` until the first
    /// bad one: after it nothing will be imported, and the rest is only checked.
    /// `conn` answers "is it enrolled already?" when nothing is written (None: there
    /// is no store yet). Finishes the writer's events when every line was good.
    fn check(
        &self,
        reader: Box<dyn BufRead + '_>,
        conn: Option<&rusqlite::Connection>,
        mut writer: Option<Writer<'_>>,
        settings: &Settings,
    ) -> Result<(ImportView, Problems, Vec<String>)> {
        let (args, name, now, path) = (self.args, self.name, self.now, self.path);
        let verified = !args.unverified;
        let mut seen: HashSet<String> = HashSet::new();
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
        for (index, line) in reader.lines().enumerate() {
            let n = index as u64 + 1;
            let line = match line {
                Ok(line) => line,
                // The reader has moved past the bad line: report it and go on.
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    problems.add(n, "not valid UTF-8".into());
                    continue;
                }
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("{name}: cannot read line {n}"))
                    );
                }
            };
            bytes_read += line.len() as u64 + 1;
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
                &line
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
            if let Err(e) = check_name("account", &uri.account).and_then(|()| {
                uri.issuer
                    .as_deref()
                    .map_or(Ok(()), |i| check_name("issuer", i))
            }) {
                problems.add(n, crate::error::one_line(&e));
                continue;
            }
            if !seen.insert(uri.account.clone()) {
                problems.add(
                    n,
                    format!(
                        "account '{}' appears twice in the file",
                        printable(&uri.account)
                    ),
                );
                continue;
            }
            let issuer = uri.issuer.as_deref().unwrap_or(&settings.issuer);
            let id = uuid::Uuid::now_v7().to_string();
            let new = match writer.as_mut().filter(|_| problems.total == 0) {
                Some(wr) => {
                    let sealed = wr.vault.seal(&id, &uri.secret)?;
                    wr.inserter
                        .insert_new(&store::NewTotp {
                            id: &id,
                            account: &uri.account,
                            issuer,
                            params: uri.params,
                            sealed_secret: &sealed,
                            verified,
                            now,
                        })
                        .sql(path)?
                }
                None => match conn {
                    Some(c) => store::find(c, &uri.account)
                        .sql(path)?
                        .is_none_or(|t| t.account != uri.account),
                    None => true,
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
            wr.events
                .append(
                    now,
                    "imported",
                    Some(&uri.account),
                    Some(&id),
                    std::str::from_utf8(&detail)?,
                )
                .sql(path)?;
        }
        if let Some(wr) = writer
            && problems.total == 0
        {
            wr.events.finish().sql(path)?;
        }
        // Imported enrollments have no backup codes yet.
        view.without_backup_codes = view.imported;
        Ok((view, problems, warnings))
    }
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
