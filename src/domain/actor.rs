//! Who is asking: the actor every event records.

use serde::Serialize;

/// Who wrote an event: the OS user and host of the process.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

impl Actor {
    /// The actor of this process.
    pub fn current() -> Actor {
        let uid = nix::unistd::geteuid();
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| format!("uid {uid}"));
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into());
        Actor { user, host }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}
