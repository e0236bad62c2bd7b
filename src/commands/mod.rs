//! One module per subcommand, each with `run(args, ctx) -> Result<Exit>`.

pub mod backup_codes;
pub mod completions;
pub mod config;
pub mod copy;
pub mod enroll;
pub mod import;
pub mod import_ga;
pub mod info;
pub mod list;
pub mod log;
pub mod rekey;
pub mod remove;
pub mod unlock;
pub mod upgrade;
pub mod verify;
