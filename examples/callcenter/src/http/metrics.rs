//! `/metrics`: every counter and histogram of the process in one Prometheus registry
//! (`prometheus-client`, which escapes label values and keeps no global lock on the request
//! path), and the middleware that times HTTP requests.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The Content-Type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Per-endpoint request counters and latency histograms.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl HttpMetrics {
    /// Adds the series to `registry` (`callcenter_http_requests_total`,
    /// `callcenter_http_request_seconds`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "callcenter_http_requests",
            "HTTP requests by endpoint and status",
            self.requests.clone(),
        );
        registry.register(
            "callcenter_http_request_seconds",
            "Time to answer, by endpoint",
            self.latency.clone(),
        );
    }

    fn observe(&self, endpoint: String, status: u16, seconds: f64) {
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                status: status.to_string(),
            })
            .inc();
    }
}

/// The whole registry as Prometheus reads it.
///
/// ```
/// use prometheus_client::metrics::counter::Counter;
/// use prometheus_client::registry::Registry;
///
/// let mut registry = Registry::default();
/// let posts = Counter::<u64>::default();
/// registry.register("callcenter_posts", "Posts", posts.clone());
/// posts.inc();
/// assert!(callcenter::http::metrics::render(&registry).contains("callcenter_posts_total 1"));
/// ```
pub fn render(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

/// Registers metrics of one kind (counters, gauges) under `callcenter_<name>` with their help
/// texts.
pub fn register_metrics<'a, M>(
    registry: &mut Registry,
    metrics: impl IntoIterator<Item = (&'static str, &'static str, &'a M)>,
) where
    M: prometheus_client::registry::Metric + Clone,
{
    for (name, help, metric) in metrics {
        registry.register(format!("callcenter_{name}"), help, metric.clone());
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
        endpoint,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
