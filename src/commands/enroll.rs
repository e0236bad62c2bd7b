//! `enroll`: a fresh secret, its otpauth:// URI and a QR code in the terminal, shown
//! once.

use std::io::Write;

use anyhow::Result;

use super::ctx::Ctx;
use crate::base::error::Exit;
use crate::base::text::sanitize;
use crate::cli::{AlgorithmArg, EnrollArgs, QrWhen};
use crate::domain::otp::Algorithm;
use crate::domain::qr;
use crate::ops::EnrollRequest;

pub fn run(args: &EnrollArgs, ctx: &mut Ctx) -> Result<Exit> {
    let enrolled = ctx.ops.enroll(
        &ctx.cx,
        &EnrollRequest {
            account: args.account.clone(),
            issuer: args.issuer.clone(),
            algorithm: args.algorithm.map(algorithm),
            digits: args.digits,
            period: args.period,
            secret_size: args.secret_size,
            force: args.force,
            qr_file: args.qr_file.clone(),
        },
    )?;
    let view = enrolled.view;
    let written = enrolled.qr_image;
    let replaced = enrolled.replaced;
    let created = enrolled.created;
    let uri = view.totp.uri.clone().unwrap_or_default();
    let secret_b32 = view.totp.secret.clone().unwrap_or_default();
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
    if let Some(old) = &replaced {
        let (old_id, was_verified, lock_cleared) = (&old.id, &old.was_verified, &old.lock_cleared);
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
        view.algorithm, view.digits, view.period
    )?;
    writeln!(w, "  uri        {}", sanitize(&uri))?;
    if let Some(file) = &written {
        writeln!(w, "  qr image   {}", file.display())?;
    }
    if let Some(made) = &created {
        out.new_store(&mut w, &made.store, made.key_file.as_deref())?;
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
