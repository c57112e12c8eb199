//! One client, one scenario, one process: prints throughput and this process's peak memory as
//! JSON, so two clients can be compared without sharing an allocator.
//!
//! `esl-client-load <esl|freeswitch-esl-tokio> <events|bgapi> <count>`

use benches::client_load::{
    Contender, bgapi_server, flood_server, peak_rss_kib, pipelined_bgapi, receive_events,
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: esl-client-load <esl|freeswitch-esl-tokio> <events|bgapi> <count>";
    let (Some(contender), Some(scenario), Some(count)) = (args.get(1), args.get(2), args.get(3))
    else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let contender = match contender.as_str() {
        "esl" => Contender::Esl,
        "freeswitch-esl-tokio" => Contender::FreeswitchEslTokio,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let count: usize = count.parse().expect("count");
    let before = peak_rss_kib();
    let elapsed = match scenario.as_str() {
        "events" => {
            let server = flood_server(count).await;
            receive_events(contender, &server, count).await
        }
        "bgapi" => {
            let server = bgapi_server().await;
            pipelined_bgapi(contender, &server, count, 256).await
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let report = serde_json::json!({
        "client": contender.name(),
        "scenario": scenario,
        "count": count,
        "seconds": elapsed.as_secs_f64(),
        "per_second": (count as f64 / elapsed.as_secs_f64()).round(),
        "peak_rss_mib_before": before.map(|k| k / 1024),
        "peak_rss_mib": peak_rss_kib().map(|k| k / 1024),
    });
    println!("{report}");
}
