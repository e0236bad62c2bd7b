//! Where a store is: an SQLite file or a PostgreSQL URL, chosen from `--store`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::access::Access;
use super::position::DIR_NAME;
use super::postgres;
use crate::base::files;
use crate::vault::KeySource;

/// Where a store is, as given by `--store` or `TOTPCTL_STORE`.
#[derive(Debug, Clone)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<postgres::url::PgUrl>),
}

impl Location {
    /// Reads `--store`: a URL of a server, else a path.
    pub fn parse(arg: &Path, access: &Access) -> Result<Location> {
        match arg.to_str() {
            Some(text) if postgres::url::is_url(text) => Ok(Location::Postgres(Box::new(
                postgres::url::PgUrl::parse(text, access)?,
            ))),
            _ => Ok(Location::Sqlite(arg.to_path_buf())),
        }
    }

    /// The store's place as this host's records name it: an SQLite file's real path
    /// (links resolved), or a server's host, port and database.
    pub fn place(&self) -> String {
        match self {
            Location::Sqlite(p) => files::resolve(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned(),
            Location::Postgres(u) => u.place(),
        }
    }

    /// Whether the store is on a server.
    pub fn is_server(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// The store as messages name it.
    pub fn label(&self) -> PathBuf {
        match self {
            Location::Sqlite(p) => p.clone(),
            Location::Postgres(u) => PathBuf::from(u.redacted()),
        }
    }

    /// Where the key file is: `--key` (or `TOTPCTL_KEY_FILE`), else beside an
    /// SQLite file; and where this host's records of the store are.
    pub fn key_source(&self, access: &Access) -> KeySource {
        let named = access
            .key_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        let (store, key_file) = match self {
            Location::Sqlite(p) => (
                p.clone(),
                Some(named.unwrap_or_else(|| crate::vault::key_file_beside(p))),
            ),
            // A server has no "beside the store": the key file is named, or absent.
            Location::Postgres(u) => (PathBuf::from(u.redacted()), named),
        };
        let state_dir = access
            .state_dir
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| default_dir(key_file.as_deref(), self));
        KeySource {
            store,
            key_file,
            state_dir,
            place: self.place(),
            pam: access.pam,
            held: access.held.clone(),
        }
    }
}

/// The default state directory of a store: beside its key file; for a store with no
/// key file, beside an SQLite file, or else the per-user state directory.
pub fn default_dir(key_file: Option<&Path>, at: &Location) -> Option<PathBuf> {
    let beside = |p: &Path| {
        p.parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .map(|d| d.join(DIR_NAME))
    };
    match (key_file, at) {
        (Some(k), _) => beside(k),
        (None, Location::Sqlite(p)) => beside(p),
        (None, Location::Postgres(_)) => directories::ProjectDirs::from("", "", "totpctl")
            .and_then(|d| d.state_dir().map(Path::to_path_buf)),
    }
}
