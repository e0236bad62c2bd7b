//! `enroll`: a fresh secret from the operating system's CSPRNG, sealed in the store,
//! with its otpauth:// URI, returned once.

use anyhow::Result;
use serde_json::json;

use super::open::Local;
use crate::base::error::{Error, invalid};
use crate::base::text::sanitize;
use crate::domain::names::check_name;
use crate::domain::otp::{self, Algorithm, Params};
use crate::domain::qr;
use crate::ops::context::Context;
use crate::ops::requests::{EnrollRequest, Enrolled, NewStore, Replaced};
use crate::ops::views::{EnrollView, TotpView};
use crate::store;
use crate::vault;

/// Bytes of secret an enrollment may ask for.
pub const SECRET_SIZE: std::ops::RangeInclusive<usize> = 16..=64;

pub fn enroll(l: &Local, cx: &Context, args: &EnrollRequest) -> Result<Enrolled> {
    check_name("account", &args.account)?;
    crate::domain::names::check_new_account(&args.account)?;
    if let Some(issuer) = &args.issuer {
        check_name("issuer", issuer)?;
    }
    if !SECRET_SIZE.contains(&args.secret_size) {
        return Err(invalid(format!(
            "--secret-size must be 16 to 64 bytes, not {}",
            args.secret_size
        )));
    }
    // Before the store is opened, so that a refused image leaves no new store.
    let qr_format = args
        .qr_file
        .as_deref()
        .map(qr::check_new_image)
        .transpose()?;

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

    let mut store = l.open_store()?;
    let now = cx.now_str();
    let mut s = l.session(cx, &mut store, true)?;
    let settings = s.settings().clone();
    let defaults = settings.params();
    let params = Params::new(
        args.algorithm.unwrap_or(defaults.algorithm),
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
        totp: crate::domain::model::Totp {
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
        return Err(crate::base::error::corrupt(
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
    let created = s.created_keys.then(|| NewStore {
        store: s.path().to_path_buf(),
        key_file: s.key_source().key_file.clone(),
    });

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
    Ok(Enrolled {
        view,
        replaced: replaced.map(|(id, was_verified, lock_cleared)| Replaced {
            id,
            was_verified,
            lock_cleared,
        }),
        qr_image: written,
        created,
    })
}
