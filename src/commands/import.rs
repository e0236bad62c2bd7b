//! `import`: bulk enrollment of existing secrets from otpauth:// URIs, all or nothing.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use crate::Ctx;
use crate::cli::ImportArgs;
use crate::config::Settings;
use crate::error::{Exit, invalid};
use crate::otp::{self, printable};
use crate::output::check_name;
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

    let mut store = ctx.open_store()?;
    let path = store.path().to_path_buf();
    let now = ctx.now_str();
    let tx = store.write()?;
    let settings = Settings::load(&tx, &path)?;
    let vault = Vault::unlock_or_init(&tx, &path, ctx.interactive, &now)?;
    let verified = !args.unverified;
    let mut seen: HashSet<String> = HashSet::new();
    let mut view = ImportView {
        imported: 0,
        skipped: 0,
        weak_secrets: 0,
        verified,
    };
    let mut warnings = Vec::new();
    let mut bytes_read = 0u64;
    let mut inserter = store::Inserter::new(&tx).sql(&path)?;
    let mut events = store::EventAppender::new(&tx).sql(&path)?;
    let mut detail = Vec::with_capacity(256);
    for (index, line) in reader.lines().enumerate() {
        let n = index + 1;
        let line = line.map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                invalid(format!(
                    "{name} line {n} is not valid UTF-8; nothing was imported"
                ))
            } else {
                anyhow::Error::new(e).context(format!("{name}: cannot read line {n}"))
            }
        })?;
        bytes_read += line.len() as u64 + 1;
        if let Some(bar) = &progress
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
        let at_line =
            |msg: String| invalid(format!("{name} line {n}: {msg}; nothing was imported"));
        let uri = otp::parse_uri(text).map_err(at_line)?;
        check_name("account", &uri.account)
            .and_then(|()| {
                uri.issuer
                    .as_deref()
                    .map_or(Ok(()), |i| check_name("issuer", i))
            })
            .map_err(|e| at_line(crate::error::one_line(&e)))?;
        if !seen.insert(uri.account.clone()) {
            return Err(at_line(format!(
                "account '{}' appears twice in the file",
                printable(&uri.account)
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let issuer = uri.issuer.as_deref().unwrap_or(&settings.issuer);
        let sealed = vault.seal(&id, &uri.secret)?;
        let inserted = inserter
            .insert_new(&store::NewTotp {
                id: &id,
                account: &uri.account,
                issuer,
                params: uri.params,
                sealed_secret: &sealed,
                verified,
                now: &now,
            })
            .sql(&path)?;
        if !inserted {
            if args.skip_existing {
                view.skipped += 1;
                continue;
            }
            return Err(at_line(format!(
                "account '{}' is already enrolled (pass --skip-existing to leave it as it is)",
                printable(&uri.account)
            )));
        }
        let weak_secret = uri.secret.len() < STRONG_SECRET;
        if weak_secret {
            view.weak_secrets += 1;
            if view.weak_secrets <= MAX_WARNINGS {
                warnings.push(format!(
                    "line {n}: the secret of '{}' is only {} bits (128 or more is recommended)",
                    printable(&uri.account),
                    uri.secret.len() * 8
                ));
            }
        }
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
        events
            .append(
                &now,
                "imported",
                Some(&uri.account),
                Some(&id),
                std::str::from_utf8(&detail)?,
            )
            .sql(&path)?;
        view.imported += 1;
    }
    events.finish().sql(&path)?;
    drop(inserter);
    tx.commit().sql(&path)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

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
    } else {
        let mut w = out.stdout();
        writeln!(
            w,
            "Imported {} account{} as {}{}{}",
            view.imported,
            if view.imported == 1 { "" } else { "s" },
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
        w.flush()?;
    }
    Ok(Exit::Success)
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
