//! `enroll`: a fresh secret, sealed in the store, shown once with its URI and QR code.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::cli::{AlgorithmArg, EnrollArgs, QrWhen};
use crate::error::{Error, Exit, invalid};
use crate::otp::{self, Algorithm, Params};
use crate::output::{TotpView, check_name, sanitize};
use crate::store;
use crate::vault;
use crate::{Ctx, qr};

/// Allowed secret sizes, in bytes.
const SECRET_SIZE: std::ops::RangeInclusive<usize> = 16..=64;

pub fn run(args: &EnrollArgs, ctx: &Ctx) -> Result<Exit> {
    check_name("account", &args.account)?;
    crate::names::check_new_account(&args.account)?;
    if let Some(issuer) = &args.issuer {
        check_name("issuer", issuer)?;
    }
    if !SECRET_SIZE.contains(&args.secret_size) {
        return Err(invalid(format!(
            "--secret-size must be 16 to 64 bytes, not {}",
            args.secret_size
        )));
    }
    let qr_format = args
        .qr_file
        .as_deref()
        .map(qr::ImageFormat::for_path)
        .transpose()?;
    if let Some(file) = &args.qr_file {
        if std::fs::symlink_metadata(file).is_ok() {
            return Err(invalid(format!(
                "--qr-file {} exists already: it is not replaced (it may be another account's \
                 code); choose another name, or remove it first",
                file.display()
            )));
        }
        // Before the store is opened, so that a refused image leaves no new store.
        let dir = file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !dir.is_dir() {
            return Err(invalid(format!(
                "--qr-file {}: its directory {} does not exist",
                file.display(),
                dir.display()
            )));
        }
    }

    // Parameters given on the command line are checked before the store is opened, so
    // that a refused enroll creates no store and no key file.
    if args.digits.is_some() || args.period.is_some() {
        Params::new(
            Algorithm::Sha1,
            args.digits.unwrap_or(6),
            args.period.unwrap_or(30),
        )
        .map_err(invalid)?;
    }

    let mut store = ctx.open_store()?;
    let now = ctx.now_str();
    let mut s = ctx.session(&mut store, true)?;
    let settings = s.settings().clone();
    let defaults = settings.params();
    let params = Params::new(
        args.algorithm.map_or(defaults.algorithm, algorithm),
        args.digits.unwrap_or(defaults.digits),
        args.period.unwrap_or(defaults.period),
    )
    .map_err(invalid)?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| settings.issuer.clone());

    let id = uuid::Uuid::now_v7().to_string();
    let replaced = match s.find(&args.account)? {
        Some(old) if old.totp.account == args.account => {
            if old.totp.verified && !args.force {
                return Err(Error::AlreadyEnabled(sanitize(&args.account)).into());
            }
            s.delete(&old)?;
            let lock_cleared = old
                .totp
                .locked_until
                .as_deref()
                .is_some_and(|u| u > now.as_str());
            s.event_with_state(
                "removed",
                Some(&old.totp.account),
                Some(&old.totp.id),
                &json!({
                    "verified": old.totp.verified,
                    "backupCodes": old.totp.backup_codes_remaining,
                    "replacedBy": id,
                    "lockCleared": lock_cleared,
                })
                .to_string(),
                None,
            )?;
            Some((old.totp.id, old.totp.verified, lock_cleared))
        }
        _ => None,
    };

    let secret = vault::random_bytes(args.secret_size)?;
    let mut e = store::Enrollment {
        totp: store::Totp {
            id: id.clone(),
            account: args.account.clone(),
            issuer: issuer.clone(),
            params,
            verified: false,
            last_step: None,
            last_used_at: None,
            failed_attempts: 0,
            locked_until: None,
            created_at: now.clone(),
            updated_at: now.clone(),
            backup_codes_remaining: 0,
            mac: None,
        },
        backup_hashes: Vec::new(),
        sealed: None,
    };
    if !s.insert(&mut e, &secret)? {
        return Err(store::corrupt(
            s.path(),
            format!("'{}' is enrolled twice", sanitize(&args.account)),
        ));
    }
    s.event(
        "enrolled",
        Some(&e),
        json!({
            "issuer": issuer,
            "algorithm": params.algorithm.as_str(),
            "digits": params.digits,
            "period": params.period,
            "replaced": replaced.as_ref().map(|r| &r.0),
        }),
    )?;
    let created = s.created_keys;
    let store_path = s.path().to_path_buf();
    let key_file = s.key_source().key_file.clone().unwrap_or_default();

    let secret_b32 = otp::encode_secret(&secret);
    let uri = otp::build_uri(&params, &issuer, &args.account, &secret_b32);
    // The image goes into place before the commit and is removed if the commit fails,
    // so that a failed command leaves neither an enrollment nor an image behind.
    let written = match (&args.qr_file, qr_format) {
        (Some(file), Some(format)) => {
            let staged = qr::stage(file, &qr::image(&uri, format)?)?;
            staged.commit()?;
            Some(file.clone())
        }
        _ => None,
    };
    if let Err(err) = s.commit() {
        if let Some(file) = &written {
            let _ = std::fs::remove_file(file);
        }
        return Err(err);
    }

    let view = EnrollView {
        totp: TotpView {
            secret: Some(secret_b32.clone()),
            uri: Some(uri.clone()),
            ..TotpView::bare(e.totp)
        },
        replaced: replaced.as_ref().map(|r| r.0.clone()),
    };
    if ctx.out.json {
        ctx.out.json(&view)?;
        return Ok(Exit::Success);
    }
    let view = view.totp;
    let draw = match args.qr {
        QrWhen::Always => true,
        QrWhen::Never => false,
        QrWhen::Auto => ctx.out.tty,
    };
    let out = &ctx.out;
    // The QR code comes last, so that the screen left after the command shows it
    // whole: drawn (or found too big) first, printed after everything else.
    let drawing = draw
        .then(|| {
            qr::terminal(
                &uri,
                out.color,
                qr::Screen {
                    columns: out.columns,
                    lines: out.lines,
                },
            )
        })
        .transpose()?;
    let drawn = matches!(drawing, Some(qr::Drawing::Drawn(_)));
    let mut w = out.stdout();
    writeln!(
        w,
        "{} {}{}",
        out.green("Enrolled"),
        out.bold(&sanitize(&view.account)),
        if view.issuer.is_empty() {
            String::new()
        } else {
            format!(" (issuer {})", sanitize(&view.issuer))
        }
    )?;
    writeln!(w, "  id         {}", sanitize(&view.id))?;
    if let Some((old_id, was_verified, lock_cleared)) = &replaced {
        writeln!(
            w,
            "  replaces   {} ({}{}; its secret and backup codes no longer work)",
            sanitize(old_id),
            if *was_verified {
                "verified"
            } else {
                "unverified"
            },
            if *lock_cleared {
                ", its lockout cleared"
            } else {
                ""
            }
        )?;
    }
    writeln!(w, "  secret     {}", group(&secret_b32))?;
    writeln!(
        w,
        "  algorithm  {}, {} digits, every {} s",
        params.algorithm, params.digits, params.period
    )?;
    writeln!(w, "  uri        {}", sanitize(&uri))?;
    if let Some(file) = &written {
        writeln!(w, "  qr image   {}", file.display())?;
    }
    if created {
        out.new_store(&mut w, &store_path, Some(&key_file))?;
    } else {
        writeln!(w)?;
    }
    let shown = match (drawn, &written) {
        (true, Some(_)) => "the secret, the URI, the QR code and the image are",
        (true, None) => "the secret, the URI and the QR code are",
        (false, Some(_)) => "the secret, the URI and the image are",
        (false, None) => "the secret and the URI are",
    };
    writeln!(
        w,
        "{} This is the only time {shown} shown{}.",
        out.yellow("Note:"),
        if written.is_some() {
            ": the image holds the secret too, so delete it once scanned"
        } else {
            ""
        }
    )?;
    writeln!(
        w,
        "Add it to an authenticator app, then confirm it with: {}",
        ctx.account_command("verify", &view.account)
    )?;
    match drawing {
        Some(qr::Drawing::Drawn(drawing)) => {
            writeln!(w)?;
            write!(w, "{drawing}")?;
        }
        Some(qr::Drawing::TooBig { columns, lines }) => {
            let (have_c, have_l) = (out.columns.unwrap_or(0), out.lines.unwrap_or(0));
            match &written {
                Some(file) => writeln!(
                    w,
                    "{} No QR code here: it needs {columns}×{lines} and the terminal is \
                     {have_c}×{have_l}; scan the image {} instead, or type the secret.",
                    out.yellow("Note:"),
                    file.display()
                )?,
                None => writeln!(
                    w,
                    "{} No QR code here: it needs {columns}×{lines} and the terminal is \
                     {have_c}×{have_l}; type the secret or the URI above into the app, or \
                     enroll again (this unverified enrollment is replaced) with --qr-file \
                     PATH.png.",
                    out.yellow("Note:")
                )?,
            }
        }
        None => {}
    }
    w.flush()?;
    Ok(Exit::Success)
}

/// What `enroll --json` prints: the enrollment, its secret and URI, and the id of the
/// enrollment it replaced, if any.
#[derive(serde::Serialize)]
struct EnrollView {
    #[serde(flatten)]
    totp: TotpView,
    replaced: Option<String>,
}

fn algorithm(a: AlgorithmArg) -> Algorithm {
    match a {
        AlgorithmArg::Sha1 => Algorithm::Sha1,
        AlgorithmArg::Sha256 => Algorithm::Sha256,
        AlgorithmArg::Sha512 => Algorithm::Sha512,
    }
}

/// `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`, easier to type into a phone.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
