//! The rules of two-factor authentication that hold wherever the data lives: TOTP
//! parameters and codes (`otp`), backup codes, account names that cannot pass for
//! one another (`names`), the store's settings (`config`), the MACs that
//! authenticate a store (`integrity`), QR codes, google-authenticator's files, and
//! the enrollment itself (`model`). It uses only `base`.

pub mod actor;
pub mod backup_codes;
pub mod config;
pub mod google_authenticator;
pub mod integrity;
pub mod model;
pub mod names;
pub mod otp;
pub mod qr;
pub mod tokens;
