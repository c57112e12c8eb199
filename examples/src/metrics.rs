//! Request counts and latencies per endpoint, in Prometheus' text format.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    /// Requests by status code.
    by_status: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket bound, then the sum of latencies.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Per-endpoint request counters and latency histograms.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<String, Series>>,
}

impl HttpMetrics {
    fn observe(&self, endpoint: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = series.entry(endpoint.to_owned()).or_default();
        *entry.by_status.entry(status).or_default() += 1;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        entry.count += 1;
        entry.sum_seconds += seconds;
    }

    /// The Prometheus exposition of every series.
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut text = String::from(
            "# HELP callcenter_http_requests_total HTTP requests by endpoint and status.\n# TYPE callcenter_http_requests_total counter\n",
        );
        for (endpoint, s) in &series {
            for (status, count) in &s.by_status {
                text.push_str(&format!(
                    "callcenter_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}\n"
                ));
            }
        }
        text.push_str("# HELP callcenter_http_request_seconds Time to answer, by endpoint.\n# TYPE callcenter_http_request_seconds histogram\n");
        for (endpoint, s) in &series {
            for (bound, count) in BUCKETS.iter().zip(s.buckets) {
                text.push_str(&format!(
                    "callcenter_http_request_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {count}\n"
                ));
            }
            text.push_str(&format!(
                "callcenter_http_request_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}\ncallcenter_http_request_seconds_sum{{endpoint=\"{endpoint}\"}} {}\ncallcenter_http_request_seconds_count{{endpoint=\"{endpoint}\"}} {}\n",
                s.count, s.sum_seconds, s.count
            ));
        }
        text
    }
}

/// Middleware: times every request and counts it under its route (never the raw path, so the
/// number of series stays bounded).
pub async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        &endpoint,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
