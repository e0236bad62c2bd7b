//! What `GET /metrics` tells Prometheus: verifies by outcome, requests by status,
//! one latency histogram, the engine sessions busy and the store errors.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    verifies: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    pub sessions_busy: Gauge,
    pub sessions: Gauge,
    pub batch_size: Histogram,
    store_errors: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("totpctl");
        let verifies = Family::<Labels, Counter>::default();
        r.register(
            "verifies",
            "Codes checked, by outcome (accepted, rejected, locked, not_found, refused, error)",
            verifies.clone(),
        );
        let requests = Family::<Labels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests answered, by status",
            requests.clone(),
        );
        // 0.25 ms to about 8 s.
        let latency = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        r.register(
            "http_request_duration_seconds",
            "Time from a request's headers to its answer",
            latency.clone(),
        );
        let sessions_busy = Gauge::default();
        r.register(
            "pool_sessions_busy",
            "Engine sessions working on a request now",
            sessions_busy.clone(),
        );
        let sessions = Gauge::default();
        r.register(
            "pool_sessions",
            "Engine sessions the server has",
            sessions.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        r.register(
            "verify_batch_size",
            "Verifies committed together in one transaction",
            batch_size.clone(),
        );
        let store_errors = Counter::default();
        r.register(
            "store_errors",
            "Requests that failed because the store could not be reached or used",
            store_errors.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            verifies,
            requests,
            latency,
            sessions_busy,
            sessions,
            batch_size,
            store_errors,
        }
    }

    pub fn verify(&self, outcome: &'static str) {
        self.verifies
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    pub fn request(&self, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&vec![("status", status.to_string())])
            .inc();
        self.latency.observe(seconds);
        if status == 503 {
            self.store_errors.inc();
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
