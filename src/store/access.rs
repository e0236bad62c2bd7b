//! How a command may reach its store: where to find the key and this host's
//! records, what to trust, how long to wait; and, in a long-running process, the key
//! it holds. Decided once, at the edge, and passed down to the engines and the vault.

use std::path::PathBuf;

/// How long a wait for a lock may last unless `--timeout` says otherwise.
pub const DEFAULT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How a command may reach its store, beyond where it is: the files it takes its
/// trust from and how long it may wait. Decided once, at the edge, from the command
/// line and the environment (none of which `verify --pam` reads).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The key file: `--key` or `TOTPCTL_KEY_FILE`; else beside an SQLite store.
    pub key_file: Option<PathBuf>,
    /// Where this host keeps what it has seen of each store: `--state-dir` or
    /// `TOTPCTL_STATE_DIR`; else beside the key file.
    pub state_dir: Option<PathBuf>,
    /// A PostgreSQL password file (`.pgpass` format), checked like the key file.
    pub password_file: Option<PathBuf>,
    /// The certificate authority a PostgreSQL server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// How long any one wait for a lock may last.
    pub wait: Option<std::time::Duration>,
    /// Whether a statement may run as long as it needs (bulk commands: import,
    /// copy, list, `log --check`); others are bounded by `wait` too.
    pub bulk: bool,
    /// Under `verify --pam`: nothing from the environment, no passphrase.
    pub pam: bool,
    /// The key a long-running process (`serve`) holds in memory.
    pub held: Option<std::sync::Arc<crate::vault::held::HeldKey>>,
}

impl Access {
    /// The longest any one wait may last.
    pub fn wait(&self) -> std::time::Duration {
        self.wait.unwrap_or(DEFAULT_WAIT)
    }
}
