//! The operations on a store that `totpctl serve` holds: the second implementation
//! of [`Operations`] beside [`super::Local`], chosen by a `--store https://…` URL as
//! the engines are chosen by theirs. Each operation is one request to the server's
//! API (`client.rs`), whose answer is the very view the local operation returns, so
//! the commands print the same documents and exit the same way; the server holds
//! every rule. What belongs on the server's host (a rekey, a copy, a
//! google-authenticator import, an upgrade, the API tokens, accepting a restore) is
//! refused here with a message that says so.

mod client;

use std::path::PathBuf;

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use self::client::{Answer, Client, percent};
pub use self::client::{RemoteAccess, is_remote};
use super::context::Context;
use super::operations::{EventVisitor, ListVisitor, Operations};
use super::requests::*;
use super::tokens::{TokenCreated, TokenRequest, TokenRevoked, TokenView};
use super::views::*;
use crate::base::error::{Error, invalid, store_err};
use crate::domain::config::{KEYS, Settings};
use crate::domain::model::TotpRef;
use crate::domain::otp::{Algorithm, Params};
use crate::store::Event;

/// A store reached through `totpctl serve`.
pub struct Remote {
    client: Client,
}

impl Remote {
    /// A client of the server at `url`; `claims` are what it says of itself (its OS
    /// user and host; under PAM the service and the remote host), recorded as claimed.
    pub fn new(
        url: &str,
        access: &RemoteAccess,
        claims: Vec<(&'static str, String)>,
    ) -> Result<Remote> {
        Ok(Remote {
            client: Client::new(url, access, claims)?,
        })
    }

    fn call(
        &self,
        cx: &Context,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        account: Option<&str>,
    ) -> Result<Value> {
        let body = body.map(|b| (b.to_string().into_bytes(), "application/json"));
        let answer = self.client.call(method, path, query, body)?;
        self.client.ok(answer, account, cx)
    }

    fn view<T: DeserializeOwned>(&self, v: Value) -> Result<T> {
        serde_json::from_value(v).map_err(|e| {
            store_err(format!(
                "{} answered a document this totpctl cannot read ({e}): are the server and \
                 this command the same version?",
                self.client.base
            ))
        })
    }
}

fn user(account: &str, what: &str) -> String {
    format!("/v1/users/{}/{what}", percent(account))
}

/// A command that runs only where the store is.
fn elsewhere(command: &str) -> anyhow::Error {
    invalid(format!(
        "`totpctl {command}` runs on the server's host, against the store itself (with its \
         key), not against a totpctl server: run it there"
    ))
}

impl Operations for Remote {
    fn label(&self) -> PathBuf {
        PathBuf::from(&self.client.base)
    }

    fn enroll(&mut self, cx: &Context, req: &EnrollRequest) -> Result<Enrolled> {
        let format = req
            .qr_file
            .as_deref()
            .map(crate::domain::qr::check_new_image)
            .transpose()?;
        let body = json!({
            "issuer": req.issuer,
            "algorithm": req.algorithm.map(Algorithm::as_str),
            "digits": req.digits,
            "period": req.period,
            "secretSize": req.secret_size,
        });
        let query = if req.force {
            vec![("force", "true".to_string())]
        } else {
            Vec::new()
        };
        let v = self.call(
            cx,
            "POST",
            &user(&req.account, "totp"),
            &query,
            Some(body),
            Some(&req.account),
        )?;
        let view: EnrollView = self.view(v)?;
        let qr_image = match (&req.qr_file, format, view.totp.uri.as_deref()) {
            (Some(file), Some(format), Some(uri)) => {
                crate::domain::qr::stage(file, &crate::domain::qr::image(uri, format)?)?
                    .commit()?;
                Some(file.clone())
            }
            _ => None,
        };
        Ok(Enrolled {
            replaced: view.replaced.clone().map(|id| Replaced {
                id,
                was_verified: req.force,
                lock_cleared: false,
            }),
            view,
            qr_image,
            created: None,
        })
    }

    fn verify_precheck(&mut self, _cx: &Context, _account: &str) -> Result<Precheck> {
        // The server decides; a locked account is its answer to the code.
        Ok(Precheck { locked: false })
    }

    fn verify(&mut self, cx: &Context, req: &VerifyRequest) -> Result<Verified> {
        let code = req.code.as_deref().map(String::as_str).unwrap_or("");
        let mut body = json!({ "code": code });
        if let Some(at) = req.at {
            body["at"] = json!(at.timestamp().to_string());
        }
        if let Some(w) = req.window {
            body["window"] = json!(w);
        }
        let body = (body.to_string().into_bytes(), "application/json");
        let answer =
            self.client
                .call("POST", &user(&req.account, "verify_totp"), &[], Some(body))?;
        match answer.status {
            200 => {
                let mut doc = answer.json;
                if let Some(o) = doc.as_object_mut() {
                    o.remove("code_type");
                }
                Ok(Verified {
                    view: self.view(doc)?,
                    lockout_attempts: 0,
                })
            }
            422 => rejected(self, answer),
            _ => Err(client::error_of(
                &self.client.base,
                &answer,
                Some(&req.account),
                cx,
            )),
        }
    }

    fn list(
        &mut self,
        cx: &Context,
        req: &ListRequest,
        visitor: &mut dyn ListVisitor,
    ) -> Result<()> {
        let mut q = Vec::new();
        if let Some(v) = req.verified {
            q.push(("verified", v.to_string()));
        }
        if let Some(i) = &req.issuer {
            q.push(("issuer", i.clone()));
        }
        if req.locked {
            q.push(("locked", "true".into()));
        }
        if req.no_backup_codes {
            q.push(("noBackupCodes", "true".into()));
        }
        if let Some(u) = &req.unused_since {
            q.push(("unusedSince", u.clone()));
        }
        let v = self.call(cx, "GET", "/v1/totps", &q, None, None)?;
        let views: Vec<TotpView> = self.view(v)?;
        for pass in 0..visitor.passes() {
            for t in &views {
                visitor.row(pass, &totp_ref(t)?)?;
            }
        }
        Ok(())
    }

    fn show(&mut self, cx: &Context, account: &str) -> Result<TotpView> {
        let v = self.call(cx, "GET", &user(account, "totp"), &[], None, Some(account))?;
        self.view(v)
    }

    fn backup_codes(
        &mut self,
        cx: &Context,
        account: &str,
        count: Option<u32>,
    ) -> Result<BackupCodesView> {
        let body = json!({ "count": count });
        let v = self.call(
            cx,
            "POST",
            &user(account, "backup_codes"),
            &[],
            Some(body),
            Some(account),
        )?;
        self.view(v)
    }

    fn remove(&mut self, cx: &Context, account: &str) -> Result<RemovedView> {
        let v = self.call(
            cx,
            "DELETE",
            &user(account, "totp"),
            &[],
            None,
            Some(account),
        )?;
        self.view(v)
    }

    fn unlock(&mut self, cx: &Context, account: &str) -> Result<Unlocked> {
        // Whether it was locked: an unlock token is an admin one, which may read.
        let before: TotpView = self.show(cx, account)?;
        let now = cx.now_str();
        let was_locked = before
            .audit
            .as_ref()
            .and_then(|a| a.locked_until.as_deref())
            .is_some_and(|u| u > now.as_str());
        let v = self.call(
            cx,
            "POST",
            &user(account, "unlock"),
            &[],
            None,
            Some(account),
        )?;
        Ok(Unlocked {
            view: self.view(v)?,
            was_locked,
        })
    }

    fn settings(&mut self, cx: &Context) -> Result<Settings> {
        let v = self.call(cx, "GET", "/v1/config", &[], None, None)?;
        self.view(v)
    }

    fn setting(&mut self, cx: &Context, key: &str) -> Result<ConfigValue> {
        if !KEYS.contains(&key) {
            // The same refusal as on a local store, without asking.
            Settings::default().set(key, "")?;
        }
        let all = serde_json::to_value(self.settings(cx)?)?;
        Ok(ConfigValue {
            key: key.to_string(),
            value: all[key].clone(),
        })
    }

    fn set_setting(&mut self, cx: &Context, key: &str, value: &str) -> Result<ConfigValue> {
        Settings::default().set(key, value)?;
        let path = format!("/v1/config/{}", percent(key));
        let v = self.call(cx, "PUT", &path, &[], Some(json!({ "value": value })), None)?;
        self.view(v)
    }

    fn log(
        &mut self,
        cx: &Context,
        req: &LogRequest,
        visitor: &mut dyn EventVisitor,
    ) -> Result<()> {
        let mut q = Vec::new();
        for (k, v) in [
            ("account", &req.account),
            ("since", &req.since),
            ("until", &req.until),
        ] {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        }
        if !req.events.is_empty() {
            q.push(("event", req.events.join(",")));
        }
        if let Some(l) = req.limit {
            q.push(("limit", l.to_string()));
        }
        let v = self.call(cx, "GET", "/v1/events", &q, None, req.account.as_deref())?;
        let views: Vec<EventView> = self.view(v)?;
        for pass in 0..visitor.passes() {
            for e in &views {
                visitor.event(pass, event_of(e))?;
            }
        }
        Ok(())
    }

    fn log_head(&mut self, cx: &Context) -> Result<HeadView> {
        let v = self.call(cx, "GET", "/v1/log/head", &[], None, None)?;
        self.view(v)
    }

    fn log_check(&mut self, cx: &Context, req: &CheckRequest) -> Result<CheckView> {
        let mut q = Vec::new();
        if let Some(h) = &req.head {
            q.push(("head", h.clone()));
        }
        if req.full {
            q.push(("full", "true".into()));
        }
        let v = self.call(cx, "POST", "/v1/log/check", &q, None, None)?;
        let mut view: CheckView = self.view(v)?;
        view.kept = req
            .head
            .as_deref()
            .and_then(|h| h.split(':').next())
            .and_then(|s| s.parse().ok());
        Ok(view)
    }

    fn accept_restore(&mut self, _cx: &Context, _head: &str) -> Result<AcceptedView> {
        Err(elsewhere("log --accept-restore"))
    }

    fn import(&mut self, cx: &Context, req: &mut ImportRequest<'_>) -> Result<Imported> {
        let bytes = match &mut req.input {
            ImportInput::Stream { reader, name } => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(reader, &mut bytes)
                    .map_err(|e| invalid(format!("cannot read {name}: {e}")))?;
                bytes
            }
            ImportInput::File(path) => std::fs::read(&*path)
                .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?,
        };
        let mut q = Vec::new();
        for (k, on) in [
            ("unverified", req.unverified),
            ("skipExisting", req.skip_existing),
            ("dryRun", req.dry_run),
        ] {
            if on {
                q.push((k, "true".to_string()));
            }
        }
        let answer = self
            .client
            .call("POST", "/v1/import", &q, Some((bytes, "text/plain")))?;
        let v = self.client.ok(answer, None, cx)?;
        Ok(Imported {
            view: self.view(v)?,
            warnings: Vec::new(),
            backup_codes_on: true,
            created: None,
        })
    }

    fn import_ga(&mut self, _cx: &Context, _req: &ImportGaRequest) -> Result<ImportedGa> {
        Err(elsewhere("import --google-authenticator"))
    }

    fn rekey(&mut self, _cx: &Context, _req: &RekeyRequest<'_>) -> Result<Rekeyed> {
        Err(elsewhere("rekey"))
    }

    fn info(&mut self, cx: &Context) -> Result<InfoView> {
        let v = self.call(cx, "GET", "/v1/info", &[], None, None)?;
        self.view(v)
    }

    fn copy(&mut self, _cx: &Context, _req: &CopyRequest<'_>) -> Result<Copied> {
        Err(elsewhere("copy"))
    }

    fn upgrade(&mut self, _cx: &Context) -> Result<UpgradeView> {
        Err(elsewhere("upgrade"))
    }

    fn token_create(&mut self, _cx: &Context, _req: &TokenRequest) -> Result<TokenCreated> {
        Err(elsewhere("token create"))
    }

    fn token_list(&mut self, _cx: &Context) -> Result<Vec<TokenView>> {
        Err(elsewhere("token list"))
    }

    fn token_revoke(&mut self, _cx: &Context, _name: &str) -> Result<TokenRevoked> {
        Err(elsewhere("token revoke"))
    }
}

/// A rejected code (422): the verify document when the server sent it (to a token
/// that may read), else the rejection as an error that exits as a rejected code does
/// (a verify token learns no more than that).
fn rejected(r: &Remote, answer: Answer) -> Result<Verified> {
    let e = &answer.json["error"];
    if let Some(doc) = e.get("verify") {
        return Ok(Verified {
            view: r.view(doc.clone())?,
            lockout_attempts: e["lockoutAttempts"].as_u64().unwrap_or(0) as u32,
        });
    }
    Err(Error::Rejected {
        reason: e["code"]
            .as_str()
            .unwrap_or("totp_incorrect_code")
            .to_string(),
        message: crate::base::text::sanitize(e["message"].as_str().unwrap_or("")).to_string(),
        failed_attempts: e["failedAttempts"].as_u64(),
        locked_until: e["lockedUntil"].as_str().map(str::to_string),
    }
    .into())
}

fn totp_ref(t: &TotpView) -> Result<TotpRef<'_>> {
    let audit = t.audit.as_ref();
    Ok(TotpRef {
        id: &t.id,
        account: &t.account,
        issuer: &t.issuer,
        params: Params {
            algorithm: Algorithm::parse(t.algorithm)
                .ok_or_else(|| store_err(format!("unknown algorithm {}", t.algorithm)))?,
            digits: t.digits,
            period: t.period,
        },
        verified: t.verified,
        last_used_at: audit.and_then(|a| a.last_used_at.as_deref()),
        failed_attempts: audit.map_or(0, |a| a.failed_attempts),
        locked_until: audit.and_then(|a| a.locked_until.as_deref()),
        created_at: &t.created_at,
        updated_at: &t.updated_at,
        backup_codes_remaining: audit.map_or(0, |a| a.backup_codes_remaining),
    })
}

fn event_of(e: &EventView) -> Event {
    Event {
        seq: e.seq,
        at: e.at.clone(),
        event: e.event.clone(),
        account: e.account.clone(),
        totp_id: e.id.clone(),
        detail: e.detail.to_string(),
        actor: (!e.actor.is_null()).then(|| e.actor.to_string()),
        state: None,
    }
}
