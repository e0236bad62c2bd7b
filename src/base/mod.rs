//! The bottom layer, which every other uses and which uses nothing above it: the
//! errors and exit codes, times, text made safe for a terminal, and the checks of
//! files and directories that every key, store and record path passes.
//!
//! Layers, from the bottom: `base` → `domain` (TOTP, backup codes, names, settings,
//! MACs) → `store` and `vault` (the engines, the key, the write sessions) → `ops`
//! (the operations of 2FA) → the front ends (`cli` and `commands`, `pam`). A module
//! uses only its own layer and those below it.

pub mod error;
pub mod files;
pub mod term;
pub mod text;
pub mod time;
