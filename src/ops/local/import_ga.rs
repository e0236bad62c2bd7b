//! `import --google-authenticator`: google-authenticator-libpam's
//! `~/.google_authenticator` files, each its owner's account, scratch codes as backup
//! codes, every file checked before anything is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use super::open::Local;
use crate::base::error::{Error, invalid, one_line};
use crate::base::text::sanitize;
use crate::domain::config::Settings;
use crate::domain::google_authenticator::{self as ga, GaFile, NotCarried, Policy};
use crate::domain::names::check_name;
use crate::ops::context::Context;
use crate::ops::requests::{ImportGaRequest, ImportedGa, NewStore};
use crate::ops::views::{AccountView, ImportGaView};
use crate::store::{self, Store};
use crate::vault::Vault;

/// One file, read and checked, with the account it becomes.
struct Candidate {
    file: PathBuf,
    account: String,
    ga: GaFile,
    /// The file is readable or writable by others than its owner.
    loose_mode: Option<u32>,
}

pub fn import(l: &Local, cx: &Context, args: &ImportGaRequest) -> Result<ImportedGa> {
    let files = &args.files;
    if args.account.is_some() && files.len() > 1 {
        return Err(invalid(format!(
            "--account names the account of one file, and {} were given; without it each \
             file becomes the account of the user who owns it",
            files.len()
        )));
    }

    // Phase 1: every file.
    let mut problems: Vec<String> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut owners: HashMap<String, PathBuf> = HashMap::new();
    for given in files {
        let file = std::path::absolute(given).unwrap_or_else(|_| given.clone());
        let name = shown(&file);
        let read = match ga::read_file(&file) {
            Ok(read) => read,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let account = match &args.account {
            Some(name) => Ok(name.clone()),
            None => owner_name(read.uid),
        };
        let parsed = ga::parse(&read.text);
        drop(read.text);
        let mut bad = false;
        if let Err(file_problems) = &parsed {
            for p in file_problems {
                match &account {
                    Ok(a) if p == ga::HOTP_PROBLEM => problems.push(format!(
                        "{name}: {p} with: {}",
                        cx.account_command("enroll", a)
                    )),
                    _ => problems.push(format!("{name}: {p}")),
                }
            }
            bad = true;
        }
        let account = match account.and_then(|a| {
            check_name("account", &a)
                .and_then(|()| crate::domain::names::check_new_account(&a))
                .map_err(|e| one_line(&e))?;
            Ok(a)
        }) {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        if bad {
            continue;
        }
        if let Some(first) = owners.get(&account) {
            problems.push(format!(
                "{name}: account '{}' comes from {} too; give each account one file",
                sanitize(&account),
                shown(first)
            ));
            continue;
        }
        owners.insert(account.clone(), file.clone());
        if let Ok(ga) = parsed {
            candidates.push(Candidate {
                file,
                account,
                ga,
                loose_mode: (read.mode & 0o077 != 0).then_some(read.mode),
            });
        }
    }

    // Phase 2: the accounts against the store as it is; nothing is created.
    let mut existing_store = Store::open_existing(&l.location, &l.access)?;
    let settings = match &mut existing_store {
        Some(store) => {
            let path = store.path().to_path_buf();
            Settings::from_pairs(&store.config_pairs()?, &path)?
        }
        None => Settings::default(),
    };
    let mut enrolled: Vec<bool> = Vec::with_capacity(candidates.len());
    let mut skeletons: HashMap<String, String> = HashMap::new();
    for c in &candidates {
        let found = match &mut existing_store {
            Some(store) => store.is_enrolled(&c.account)?,
            None => false,
        };
        let like = match skeletons.get(&crate::domain::names::skeleton(&c.account)) {
            Some(other) => Some(other.clone()),
            None => match &mut existing_store {
                Some(store) => store.account_like(&c.account)?,
                None => None,
            },
        };
        if let Some(other) = like {
            problems.push(format!(
                "{}: {}",
                shown(&c.file),
                one_line(&crate::domain::names::look_alike(&c.account, &other))
            ));
        }
        skeletons.insert(
            crate::domain::names::skeleton(&c.account),
            c.account.clone(),
        );
        if found && !args.skip_existing {
            problems.push(format!(
                "{}: account '{}' is already enrolled (pass --skip-existing to leave it as it is)",
                shown(&c.file),
                sanitize(&c.account)
            ));
        }
        enrolled.push(found);
    }
    if !problems.is_empty() {
        return Err(refusal(problems, files.len()));
    }
    if args.dry_run
        && let Some(store) = &mut existing_store
    {
        // A dry run says whether the real one would open the store.
        let keys = store.key_source().clone();
        Vault::unlock(&mut *store.read()?, &keys, cx.interactive)?;
    }
    drop(existing_store);

    let policy = Policy {
        window: settings.window,
        lockout_attempts: settings.lockout_attempts,
        lockout_seconds: settings.lockout_seconds,
        store_arg: cx.store_arg.clone(),
    };
    let verified = !args.unverified;
    let mut view = ImportGaView {
        source: "google-authenticator",
        dry_run: args.dry_run,
        imported: 0,
        skipped: 0,
        verified,
        accounts: Vec::with_capacity(candidates.len()),
    };
    for (c, &found) in candidates.iter().zip(&enrolled) {
        let mut notes = c.ga.not_carried_over(&policy);
        if let Some(mode) = c.loose_mode {
            notes.push(NotCarried {
                option: format!("file mode {mode:04o}"),
                instead: "the file could be read by others than its owner, so its secret and \
                          scratch codes may be known: google-authenticator refuses such a \
                          file; consider enrolling this account afresh"
                    .to_string(),
            });
        }
        view.accounts.push(AccountView {
            account: c.account.clone(),
            file: c.file.display().to_string(),
            id: None,
            status: match (found, args.dry_run) {
                (true, _) => "skipped",
                (false, true) => "would_import",
                (false, false) => "imported",
            },
            algorithm: c.ga.params.algorithm.as_str(),
            digits: c.ga.params.digits,
            period: c.ga.params.period,
            backup_codes: c.ga.scratch_codes.len(),
            not_carried_over: notes,
        });
    }

    // Phase 3: one transaction.
    let mut made = None;
    if !args.dry_run {
        let mut store = l.open_store()?;
        let now = cx.now_str();
        let mut session = l.session(cx, &mut store, true)?;
        let issuer = session.settings().issuer.clone();
        for (c, account_view) in candidates.iter().zip(view.accounts.iter_mut()) {
            if account_view.status == "skipped" {
                continue;
            }
            let id = uuid::Uuid::now_v7().to_string();
            let backup_hashes: Vec<Vec<u8>> =
                c.ga.scratch_codes
                    .iter()
                    .map(|code| session.vault().hash_code(&id, code).to_vec())
                    .collect();
            // Codes google-authenticator saw used lately must not work again here.
            let watermark = c.ga.replay_watermark().filter(|s| verified && *s >= 0);
            let mut e = store::Enrollment {
                totp: crate::domain::model::Totp {
                    id: id.clone(),
                    account: c.account.clone(),
                    issuer: issuer.clone(),
                    params: c.ga.params,
                    verified,
                    last_step: watermark,
                    last_used_at: None,
                    failed_attempts: 0,
                    locked_until: None,
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    backup_codes_remaining: backup_hashes.len() as u32,
                    mac: None,
                },
                backup_hashes,
                sealed: None,
            };
            if !session.insert(&mut e, &c.ga.secret)? {
                if args.skip_existing {
                    account_view.status = "skipped";
                    continue;
                }
                return Err(invalid(format!(
                    "account '{}' was enrolled while this import ran; nothing was imported",
                    sanitize(&c.account)
                )));
            }
            session.event(
                "imported",
                Some(&e),
                json!({
                    "source": "google-authenticator",
                    "file": c.file.display().to_string(),
                    "algorithm": c.ga.params.algorithm.as_str(),
                    "digits": c.ga.params.digits,
                    "period": c.ga.params.period,
                    "issuer": issuer,
                    "verified": verified,
                    "backupCodes": e.backup_hashes.len(),
                    "usedCodesRefused": watermark.is_some(),
                    "notCarriedOver": account_view
                        .not_carried_over
                        .iter()
                        .map(|n| n.option.as_str())
                        .collect::<Vec<_>>(),
                }),
            )?;
            account_view.id = Some(id);
        }
        if session.created_keys {
            made = Some(NewStore {
                store: session.path().to_path_buf(),
                key_file: session.key_source().key_file.clone(),
            });
        }
        session.commit()?;
    }
    view.imported = view
        .accounts
        .iter()
        .filter(|a| a.status != "skipped")
        .count() as u64;
    view.skipped = view.accounts.len() as u64 - view.imported;
    Ok(ImportedGa {
        view,
        created: made,
    })
}

/// The OS user with this uid, by name.
fn owner_name(uid: u32) -> Result<String, String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
        .ok_or_else(|| {
            format!("it is owned by uid {uid}, which has no user name; pass --account NAME")
        })
}

/// The error that ends a refused import: every problem, each a line a front end may
/// show on its own, and a summary.
fn refusal(problems: Vec<String>, files: usize) -> anyhow::Error {
    let summary = format!(
        "nothing was imported: {} problem{} in the {} file{} given",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        files,
        if files == 1 { "" } else { "s" }
    );
    Error::Problems { summary, problems }.into()
}

/// The path shown for a file in messages.
fn shown(path: &Path) -> String {
    sanitize(&path.display().to_string())
}
