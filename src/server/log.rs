//! What the server says on stderr: one line per request (when, from where, what,
//! the status, how long, and the token's name once it was checked), and notes. Never
//! a code, a secret, a token or a body.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use axum::response::IntoResponse;

use super::App;
use super::auth::Peer;
use super::errors::ApiError;
use crate::base::error::Error;
use crate::base::text::sanitize;

/// The name of the token a request was made with, once it was checked: put on the
/// response by the handler, for the log line.
#[derive(Debug, Clone)]
pub struct TokenName(pub String);

/// Logs each request and counts it in the metrics.
pub async fn requests(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let ip = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let peer = ip.map_or_else(|| "-".to_string(), |ip| ip.to_string());
    if ip.is_some_and(|ip| app.failed_auth.blocked(ip)) {
        let mut e = ApiError::from(Error::RateLimited(format!(
            "this address presented more than {} unknown or refused tokens in a second: try \
             again shortly",
            super::auth::FAILED_PER_SECOND
        )));
        e.retry_after = Some(2);
        app.metrics.request(429, 0.0);
        return e.into_response();
    }
    let method = req.method().clone();
    // The path only: a query string can carry anything.
    let path: String = req.uri().path().chars().take(200).collect();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    if let (401, Some(ip)) = (status, ip) {
        app.failed_auth.record(ip);
    }
    app.metrics.request(status, elapsed.as_secs_f64());
    let token = response
        .extensions()
        .get::<TokenName>()
        .map_or_else(|| "-".to_string(), |t| sanitize(&t.0));
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {peer} {method} {} {status} {:.1}ms token={token}",
        crate::base::time::timestamp(chrono::Utc::now()),
        sanitize(&path),
        elapsed.as_secs_f64() * 1000.0,
    );
    response
}

/// A note of the server's own, on stderr.
pub fn note(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} totpctl serve: {}",
        crate::base::time::timestamp(chrono::Utc::now()),
        sanitize(message)
    );
}
