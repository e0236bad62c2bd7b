//! TOTP parameters, steps and drift, code checking (over `totp-rs`), and the
//! `otpauth://` Key URI Format, both ways.

use crate::base::text::printable;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The HMAC algorithms of RFC 6238.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses `SHA1`, `sha256`, …; anything else is `None`.
    pub fn parse(text: &str) -> Option<Algorithm> {
        match text.to_ascii_uppercase().as_str() {
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Smallest and largest accepted number of digits.
pub const DIGITS: std::ops::RangeInclusive<u8> = 6..=8;
/// Smallest and largest accepted period, in seconds.
pub const PERIOD: std::ops::RangeInclusive<u32> = 1..=3600;
/// The shortest secret taken from elsewhere: 80 bits, what many real services issue
/// (RFC 4226 requires 128 and recommends 160; shorter ones draw a warning).
pub const MIN_SECRET: usize = 10;
/// The longest secret: 64 bytes, a SHA-512 block.
pub const MAX_SECRET: usize = 64;
/// Bytes of a new secret unless asked otherwise (160 bits, as RFC 4226 recommends).
pub const DEFAULT_SECRET_BYTES: usize = 20;

/// Why a secret taken from elsewhere is no secret: every byte the same (`AAAA…`,
/// all zeros, is the usual one), which anyone can guess. The message never quotes it.
pub fn degenerate(secret: &[u8]) -> Option<String> {
    let first = *secret.first()?;
    secret.iter().all(|&b| b == first).then(|| {
        format!(
            "the secret's {} bytes are all the same ({}): anyone could guess it; issue the \
             account a fresh secret instead",
            secret.len(),
            if first == 0 {
                "all zeros, AAAA… in base32"
            } else {
                "one byte repeated"
            }
        )
    })
}
/// The widest verification window accepted, in steps either side.
pub const MAX_WINDOW: u32 = 10;

/// Checked TOTP parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
}

impl Params {
    /// Checks digits and period against the supported ranges.
    pub fn new(algorithm: Algorithm, digits: u8, period: u32) -> Result<Params, String> {
        if !DIGITS.contains(&digits) {
            return Err(format!("digits must be 6, 7 or 8, not {digits}"));
        }
        if !PERIOD.contains(&period) {
            return Err(format!("period must be 1 to 3600 seconds, not {period}"));
        }
        Ok(Params {
            algorithm,
            digits,
            period,
        })
    }

    /// The time step that contains unix time `t`.
    pub fn step_at(&self, t: i64) -> i64 {
        t.div_euclid(i64::from(self.period))
    }
}

/// Generates the code of `step` for `secret`.
pub fn code_at_step(params: &Params, secret: &[u8], step: i64) -> Zeroizing<String> {
    let totp = totp_rs::Builder::new()
        .with_algorithm(params.algorithm.to_totp_rs())
        .with_digits(params.digits)
        .with_step_duration(u64::from(params.period))
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    let time = u64::try_from(step).unwrap_or(0) * u64::from(params.period);
    Zeroizing::new(totp.generate(time).to_string())
}

/// The outcome of matching a code against a window of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// The step the code belongs to.
    pub step: i64,
    /// Its offset from the current step.
    pub drift: i64,
}

/// Refuses a window wider than [`MAX_WINDOW`] steps either side.
pub fn check_window(window: u32) -> Result<(), String> {
    if window > MAX_WINDOW {
        return Err(format!("--window must be 0 to {MAX_WINDOW}, not {window}"));
    }
    Ok(())
}

/// Finds the step within ±`window` of `now_step` whose code is `code`, preferring the
/// current step, then the nearest ones. Every step of the window is computed and
/// compared in constant time, so timing does not tell which one matched.
pub fn find_step(
    params: &Params,
    secret: &[u8],
    code: &str,
    now_step: i64,
    window: u32,
) -> Option<Match> {
    let window = i64::from(window);
    let mut found: Option<Match> = None;
    for drift in offsets(window) {
        let step = now_step + drift;
        if step < 0 {
            continue;
        }
        let expected = code_at_step(params, secret, step);
        let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && found.is_none() {
            found = Some(Match { step, drift });
        }
    }
    found
}

/// 0, -1, 1, -2, 2, … up to ±window.
fn offsets(window: i64) -> impl Iterator<Item = i64> {
    std::iter::once(0).chain((1..=window).flat_map(|d| [-d, d]))
}

/// Strips the spaces and hyphens people type into codes.
pub fn normalize_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Characters escaped in the label and query values of an otpauth URI.
/// What is escaped in the label: everything but the unreserved characters, `@` and
/// parentheses, which every app reads as they are (`+`, `=` and `&` stay escaped: a
/// parser that decodes a label as a form would misread them).
const URI_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b'(')
    .remove(b')');

/// Builds the Key URI Format URI that authenticator apps read. Parameters equal to the
/// format's defaults (SHA1, 6 digits, 30 seconds) are left out, as
/// google-authenticator does, so that the URI and its QR code stay small.
pub fn build_uri(params: &Params, issuer: &str, account: &str, secret_b32: &str) -> String {
    let issuer_enc = utf8_percent_encode(issuer, URI_ESCAPE).to_string();
    let account_enc = utf8_percent_encode(account, URI_ESCAPE);
    // The issuer once, as the label's prefix, which every authenticator app reads
    // (older ones read only that); the `issuer` parameter would repeat it and make
    // the QR code a size larger.
    let mut uri = if issuer.is_empty() {
        format!("otpauth://totp/{account_enc}?secret={secret_b32}")
    } else {
        format!("otpauth://totp/{issuer_enc}:{account_enc}?secret={secret_b32}")
    };
    if params.algorithm != Algorithm::Sha1 {
        uri.push_str(&format!("&algorithm={}", params.algorithm));
    }
    if params.digits != 6 {
        uri.push_str(&format!("&digits={}", params.digits));
    }
    if params.period != 30 {
        uri.push_str(&format!("&period={}", params.period));
    }
    uri
}

/// Base32 (RFC 4648), upper case, without padding, as authenticator apps expect.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Decodes a base32 secret as people and other systems write it: any case, with or
/// without padding, spaces and hyphens ignored.
pub fn decode_secret(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    while clean.ends_with('=') {
        clean.pop();
    }
    if clean.is_empty() {
        return None;
    }
    data_encoding::BASE32_NOPAD
        .decode(clean.as_bytes())
        .ok()
        .map(Zeroizing::new)
}

/// An `otpauth://totp/` URI, parsed and checked.
#[derive(Debug)]
pub struct ParsedUri {
    pub account: String,
    pub issuer: Option<String>,
    pub params: Params,
    pub secret: Zeroizing<Vec<u8>>,
}

/// Parses a Key URI Format URI. Parameters absent from the URI take the defaults the
/// format defines (SHA1, 6 digits, 30 seconds). The issuer comes from the `issuer`
/// parameter, else from the label's prefix; when both are present they must agree.
pub fn parse_uri(text: &str) -> Result<ParsedUri, String> {
    let text = text.trim();
    let rest = strip_prefix_ignore_case(text, "otpauth://")
        .ok_or_else(|| "not an otpauth:// URI".to_string())?;
    let (kind, rest) = rest
        .split_once('/')
        .ok_or_else(|| "missing the label after otpauth://totp/".to_string())?;
    if kind.eq_ignore_ascii_case("hotp") {
        return Err("HOTP (counter-based) URIs are not supported, only TOTP".into());
    }
    if !kind.eq_ignore_ascii_case("totp") {
        return Err(format!("unknown OTP type '{}'", printable(kind)));
    }
    let (label_raw, query) = rest.split_once('?').unwrap_or((rest, ""));
    let label_raw = label_raw.split('#').next().unwrap_or_default();
    // The label is a URI path, where '+' is itself ('bob+2fa@example.com'); only in
    // query values do some encoders write a space as '+'.
    let label = percent_decode(label_raw, "label")?;
    let (label_issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => (Some(issuer.trim().to_string()), account.trim().to_string()),
        None => (None, label.trim().to_string()),
    };
    if account.is_empty() {
        return Err("the label has no account name".into());
    }

    let mut secret = None;
    let mut issuer_param = None;
    let mut algorithm = Algorithm::Sha1;
    let mut digits: u8 = 6;
    let mut period: u32 = 30;
    let query = query.split('#').next().unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode_component(value, key)?;
        let key = key.to_ascii_lowercase();
        // Two values for one parameter: which one the issuing system meant cannot be
        // known, so neither is taken.
        if seen.contains(&key) {
            return Err(format!(
                "the parameter '{}' is given twice",
                printable(&key)
            ));
        }
        seen.push(key.clone());
        match key.as_str() {
            "secret" => {
                let bytes = decode_secret(&value)
                    .ok_or_else(|| "the secret is not valid base32".to_string())?;
                if bytes.len() < MIN_SECRET || bytes.len() > MAX_SECRET {
                    return Err(format!(
                        "the secret is {} bits; totpctl takes {} to {} bits ({} to {} bytes)",
                        bytes.len() * 8,
                        MIN_SECRET * 8,
                        MAX_SECRET * 8,
                        MIN_SECRET,
                        MAX_SECRET
                    ));
                }
                if let Some(problem) = degenerate(&bytes) {
                    return Err(problem);
                }
                secret = Some(bytes);
            }
            "issuer" => issuer_param = Some(value.trim().to_string()),
            "algorithm" => {
                algorithm = Algorithm::parse(&value)
                    .ok_or_else(|| format!("unknown algorithm '{}'", printable(&value)))?;
            }
            "digits" => {
                digits = value
                    .parse()
                    .ok()
                    .filter(|d| DIGITS.contains(d))
                    .ok_or_else(|| {
                        format!("digits must be 6, 7 or 8, not '{}'", printable(&value))
                    })?;
            }
            "period" => {
                period = value
                    .parse()
                    .ok()
                    .filter(|p| PERIOD.contains(p))
                    .ok_or_else(|| {
                        format!(
                            "period must be 1 to 3600 seconds, not '{}'",
                            printable(&value)
                        )
                    })?;
            }
            // Other parameters (image, color, counter, …) are app hints; ignored.
            _ => {}
        }
    }
    let secret = secret.ok_or_else(|| "the URI has no secret parameter".to_string())?;
    let issuer = match (issuer_param, label_issuer) {
        (Some(p), Some(l)) if !l.is_empty() && p != l => {
            return Err(format!(
                "the issuer parameter '{}' differs from the label's issuer '{}'",
                printable(&p),
                printable(&l)
            ));
        }
        (Some(p), _) if !p.is_empty() => Some(p),
        (_, Some(l)) if !l.is_empty() => Some(l),
        _ => None,
    };
    Ok(ParsedUri {
        account,
        issuer,
        params: Params {
            algorithm,
            digits,
            period,
        },
        secret,
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Decodes a query value, where '+' may stand for a space (form encoding).
fn decode_component(raw: &str, what: &str) -> Result<String, String> {
    percent_decode(&raw.replace('+', "%20"), what)
}

/// Decodes %XX escapes only.
fn percent_decode(raw: &str, what: &str) -> Result<String, String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {} is not valid UTF-8 once decoded", printable(what)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_prefer_the_current_step() {
        assert_eq!(offsets(2).collect::<Vec<_>>(), [0, -1, 1, -2, 2]);
    }

    #[test]
    fn uri_round_trips() {
        let params = Params::new(Algorithm::Sha256, 8, 60).unwrap();
        let secret = b"12345678901234567890";
        let b32 = encode_secret(secret);
        let uri = build_uri(&params, "Acme Co", "al ice@example.com", &b32);
        let parsed = parse_uri(&uri).unwrap();
        assert_eq!(parsed.account, "al ice@example.com");
        assert_eq!(parsed.issuer.as_deref(), Some("Acme Co"));
        assert_eq!(parsed.params, params);
        assert_eq!(parsed.secret.as_slice(), secret);
    }

    #[test]
    fn secret_decoding_is_lenient_about_case_padding_and_spaces() {
        let plain = decode_secret("GEZDGNBV").unwrap();
        assert_eq!(decode_secret("gezd gnbv").unwrap(), plain);
        assert_eq!(
            decode_secret("GEZDGNBVGY======").unwrap().as_slice(),
            b"123456"
        );
        assert!(decode_secret("not base32!").is_none());
    }
}
