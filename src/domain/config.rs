//! The store's settings ("the instance"): their names, defaults, checks and loading.

use anyhow::Result;
use serde::Serialize;

use crate::base::error::invalid;
use crate::domain::otp::{self, Algorithm, Params};

/// Every setting, in the order `config` prints them.
pub const KEYS: &[&str] = &[
    "issuer",
    "backup-codes",
    "backup-code-count",
    "window",
    "lockout-attempts",
    "lockout-seconds",
    "algorithm",
    "digits",
    "period",
];

/// The checked settings of a store. Serialised with the names `config` takes
/// (`backup-code-count`), so that `config --json` prints the keys it accepts.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Settings {
    pub issuer: String,
    pub backup_codes: bool,
    pub backup_code_count: u32,
    pub window: u32,
    pub lockout_attempts: u32,
    pub lockout_seconds: u32,
    pub algorithm: String,
    pub digits: u8,
    pub period: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "totpctl".into(),
            backup_codes: true,
            backup_code_count: 10,
            window: 1,
            lockout_attempts: 10,
            lockout_seconds: 3600,
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        }
    }
}

impl Settings {
    /// The settings made of stored (key, value) pairs, defaults for the rest. The
    /// caller has authenticated the pairs, or only shows them.
    pub fn from_pairs(pairs: &[(String, String)], store: &std::path::Path) -> Result<Settings> {
        let mut settings = Settings::default();
        for (key, value) in pairs {
            // Values were checked when set; a bad one means the file was edited.
            settings.set(key, value).map_err(|e| {
                crate::base::error::corrupt(
                    store,
                    format!(
                        "setting {}: {}",
                        crate::base::text::sanitize(key),
                        crate::base::error::one_line(&e)
                    ),
                )
            })?;
        }
        Ok(settings)
    }

    /// Checks `value` for `key` and applies it. Returns the value's normal form, as
    /// stored.
    pub fn set(&mut self, key: &str, value: &str) -> Result<String> {
        let value = value.trim();
        let normal = match key {
            "issuer" => {
                crate::domain::names::check_name("issuer", value)?;
                self.issuer = value.to_string();
                value.to_string()
            }
            "backup-codes" => {
                self.backup_codes = match value.to_ascii_lowercase().as_str() {
                    "on" | "true" | "yes" | "1" => true,
                    "off" | "false" | "no" | "0" => false,
                    _ => {
                        return Err(invalid(format!(
                            "backup-codes is on or off, not '{}'",
                            crate::base::text::printable(value)
                        )));
                    }
                };
                if self.backup_codes { "on" } else { "off" }.to_string()
            }
            "backup-code-count" => {
                self.backup_code_count =
                    parse_in(key, value, 1..=crate::domain::backup_codes::MAX_COUNT)?;
                self.backup_code_count.to_string()
            }
            "window" => {
                self.window = parse_in(key, value, 0..=otp::MAX_WINDOW)?;
                self.window.to_string()
            }
            "lockout-attempts" => {
                self.lockout_attempts = parse_in(key, value, 0..=1_000_000)?;
                self.lockout_attempts.to_string()
            }
            "lockout-seconds" => {
                self.lockout_seconds = parse_in(key, value, 1..=31_536_000)?;
                self.lockout_seconds.to_string()
            }
            "algorithm" => {
                let a = Algorithm::parse(value).ok_or_else(|| {
                    invalid(format!(
                        "algorithm is SHA1, SHA256 or SHA512, not '{}'",
                        crate::base::text::printable(value)
                    ))
                })?;
                self.algorithm = a.as_str().into();
                self.algorithm.clone()
            }
            "digits" => {
                self.digits = parse_in(key, value, *otp::DIGITS.start()..=*otp::DIGITS.end())?;
                self.digits.to_string()
            }
            "period" => {
                self.period = parse_in(key, value, *otp::PERIOD.start()..=*otp::PERIOD.end())?;
                self.period.to_string()
            }
            _ => return Err(unknown_key(key)),
        };
        Ok(normal)
    }

    /// The value of `key` as `config KEY` prints it.
    pub fn get(&self, key: &str) -> Result<serde_json::Value> {
        let v = serde_json::to_value(self)?;
        match v.get(key) {
            Some(value) if KEYS.contains(&key) => Ok(value.clone()),
            _ => Err(unknown_key(key)),
        }
    }

    /// The default TOTP parameters for new enrollments.
    pub fn params(&self) -> Params {
        Params {
            algorithm: Algorithm::parse(&self.algorithm).unwrap_or(Algorithm::Sha1),
            digits: self.digits,
            period: self.period,
        }
    }
}

fn unknown_key(key: &str) -> anyhow::Error {
    invalid(format!(
        "unknown setting '{}'; the settings are: {}",
        crate::base::text::printable(key),
        KEYS.join(", ")
    ))
}

fn parse_in<T>(key: &str, value: &str, range: std::ops::RangeInclusive<T>) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    value
        .parse::<T>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| {
            invalid(format!(
                "{key} must be a whole number from {} to {}, not '{}'",
                range.start(),
                range.end(),
                crate::base::text::printable(value)
            ))
        })
}
