//! Times: the one stored form (RFC 3339, UTC, milliseconds), the forms a command
//! line takes, and the form shown to people.

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::base::error::invalid;
use crate::base::text::printable;

/// The stored form of a time: RFC 3339, UTC, milliseconds, fixed width, so that text
/// order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a time given on the command line: unix seconds or RFC 3339.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| invalid(format!("time {secs} is out of range")));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(format!(
                "'{}' is not a time: give unix seconds (1764158400) or RFC 3339 \
                 (2026-11-26T12:00:00Z)",
                printable(text)
            ))
        })
}

/// Parses a time given on the command line as [`parse_time`] does, or as a span
/// before `now`: a number and a unit, `90s`, `30m`, `24h`, `7d`, `2w`.
pub fn parse_time_or_ago(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let trimmed = text.trim();
    let unit_at = trimmed.len().saturating_sub(1);
    if let (Some(unit), Ok(n)) = (
        trimmed.get(unit_at..),
        trimmed.get(..unit_at).unwrap_or_default().parse::<u32>(),
    ) {
        let seconds: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => 0,
        };
        if seconds > 0 {
            return chrono::Duration::try_seconds(i64::from(n) * seconds)
                .and_then(|d| now.checked_sub_signed(d))
                .ok_or_else(|| invalid(format!("'{trimmed}' reaches too far back")));
        }
    }
    parse_time(text).map_err(|_| {
        invalid(format!(
            "'{}' is not a time: give a span before now (30m, 24h, 7d), unix seconds \
             (1764158400) or RFC 3339 (2026-11-26T12:00:00Z)",
            printable(trimmed)
        ))
    })
}
