//! The seeds' production load on one machine, applied as FreeSWITCH applies it, against one
//! running `callcenter` daemon with every role (xml_curl, CDR gateway, REST API and `/ws`, ESL
//! worker, recording worker) on PostgreSQL and S3 (Garage, `.ci/garage`).
//!
//! Per call (see `benches::capacity`): mod_xml_curl's directory and dialplan lookups, the
//! captured call's ESL events from a node the daemon's ESL worker is connected to, a WAV of
//! the call's length written to the staging directory (tmpfs) before RECORD_STOP, and both
//! legs' CDRs posted as mod_json_cdr posts them (`encode=false`); agents on `/ws` read every
//! message of the tenant. It reports per path the throughput and p50/p99/max (lookup answer,
//! CDR post to 200, the node's write to each agent's read, RECORD_STOP to the recording
//! stored, verified and announced), CPU per part, the daemon's peak memory, the staging
//! area's peak, the database's and S3's operations, and checks at the end that every call
//! has its CDRs, one charge, its MP3 object and its messages. Exit status 1 if anything was
//! lost or a target missed.
//!
//! ```text
//! cargo build --release -p callcenter --bin callcenter
//! cargo run --release -p benches --bin capacity-load -- [--multiple M] [--agents N]
//!     [--concurrency N] [--peak-rate R] [--peak-seconds S] [--call-seconds S]
//!     [--sustained-seconds S] [--recorded-share F] [--seed N] [--postpaid] [--asynchronous-holds] [--keep-schema]
//!     [--samples FILE]
//! ```
//!
//! `--samples FILE` also writes every lookup and CDR post as a CSV row (path, call, when it
//! was sent from the plan's start and how long it took, micros), to find what the slowest ones
//! shared.

use benches::capacity::call::{CallTemplate, Uuids};
use benches::capacity::caller::{self, CallOutcome, Exchange, Switch};
use benches::capacity::clients::{self, CALL_BITS, RECORDING_BIT};
use benches::capacity::clock::Clock;
use benches::capacity::daemon::{DOMAIN, Daemon, ESL_PASSWORD, Places, TENANT};
use benches::capacity::profile::{Profile, most_concurrent};
use benches::capacity::report::{PathFigures, ms, print_paths};
use benches::capacity::usage::{self, CpuUse, DatabaseCounters, Reading, label_value};
use benches::capacity::{timeline, verify};
use billing::HoldCommit;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::node::{FakeNode, Feed, Session};

/// Where the calls go: a number the demo tenant's trunk carries (prepaid, rated).
const DESTINATION: &str = "0901234567";

struct Args {
    profile: Profile,
    agents: usize,
    keep_schema: bool,
    postpaid: bool,
    hold_commit: HoldCommit,
    samples: Option<std::path::PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: capacity-load [--multiple M] [--agents N] [--concurrency N] [--peak-rate R] \
         [--peak-seconds S] [--call-seconds S] [--sustained-seconds S] [--recorded-share F] \
         [--seed N] [--postpaid] [--asynchronous-holds] [--keep-schema] [--samples FILE]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut args = Args {
        profile: Profile::default(),
        agents: 100,
        keep_schema: false,
        postpaid: false,
        hold_commit: HoldCommit::Durable,
        samples: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--keep-schema" {
            args.keep_schema = true;
            continue;
        }
        if flag == "--asynchronous-holds" {
            args.hold_commit = HoldCommit::Asynchronous;
            continue;
        }
        if flag == "--postpaid" {
            args.postpaid = true;
            continue;
        }
        let value = given.next().unwrap_or_else(|| usage());
        if flag == "--samples" {
            args.samples = Some(value.into());
            continue;
        }
        // Finite, not negative, and at most a billion (seconds: 31 years), so every time of
        // the plan converts to a duration.
        let number = || match value.parse::<f64>() {
            Ok(number) if (0.0..=1e9).contains(&number) => number,
            _ => usage(),
        };
        let p = &mut args.profile;
        match flag.as_str() {
            "--multiple" => p.multiple = number(),
            "--concurrency" => p.concurrency = number() as usize,
            "--peak-rate" => p.peak_rate = number(),
            "--peak-seconds" => p.peak_seconds = number(),
            "--call-seconds" => p.call_seconds = number(),
            "--sustained-seconds" => p.sustained_seconds = number(),
            "--recorded-share" => p.recorded_share = number().clamp(0.0, 1.0),
            "--seed" => p.seed = value.parse().unwrap_or_else(|_| usage()),
            "--agents" => args.agents = number() as usize,
            _ => usage(),
        }
    }
    args
}

/// The staging directory: on tmpfs (`/dev/shm`), as the deploy file puts it.
fn places() -> Places {
    let scratch = std::env::temp_dir().join(format!("capacity-load-{}", std::process::id()));
    let shm = std::path::Path::new("/dev/shm");
    let staging = if shm.is_dir() {
        shm.join(format!("capacity-load-{}", std::process::id()))
    } else {
        eprintln!("/dev/shm is missing: staging on {}", scratch.display());
        scratch.join("staging")
    };
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::create_dir_all(staging.join("rec")).unwrap();
    Places { scratch, staging }
}

#[tokio::main]
async fn main() {
    let args = args();
    let plan = args.profile.plan();
    let recorded: Vec<bool> = plan.iter().map(|c| c.recorded).collect();
    let audio: f64 = plan
        .iter()
        .filter(|c| c.recorded)
        .map(|c| c.length.as_secs_f64())
        .sum();
    let last_end = plan.iter().map(|c| c.end()).max().unwrap_or_default();
    let p = &args.profile;
    println!(
        "load: {} x the seeds' ({} calls up at once, {} setups/s for {} s, then calls of {} s \
         on average for {} s; {:.0} % recorded), {} agents on /ws",
        p.multiple,
        p.concurrency,
        p.peak_rate,
        p.peak_seconds,
        p.call_seconds,
        p.sustained_seconds,
        p.recorded_share * 100.0,
        args.agents
    );
    if args.postpaid {
        println!("tenant: postpaid");
    } else {
        println!("tenant: prepaid, holds committed {:?}", args.hold_commit);
    }
    println!(
        "plan: {} calls, at most {} up at once, {:.0} s of audio to record, last hang-up at {} s",
        plan.len(),
        most_concurrent(&plan),
        audio,
        last_end.as_secs()
    );

    let places = places();
    let (node_sender, feed) = Feed::channel(65_536);
    let node = FakeNode::start(
        ESL_PASSWORD,
        vec![Session {
            feed: Some(feed),
            ..Session::idle()
        }],
    )
    .await;
    let daemon = Daemon::start(&places, &node.address(), args.hold_commit).await;
    let tokens = daemon.seed(args.agents, args.postpaid).await;
    // The worker is in once it has read the channels (the node plays the feed from then on).
    let connected = Instant::now();
    while !node
        .log()
        .commands
        .iter()
        .any(|c| c == "api show channels as json")
    {
        assert!(
            connected.elapsed() < Duration::from_secs(15),
            "the ESL worker did not connect (log: {})",
            daemon.log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // FreeSWITCH sends only what the worker subscribed to.
    let subscription = node
        .log()
        .commands
        .iter()
        .filter(|c| c.starts_with("event "))
        .map(|c| c.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .fold("event plain".to_owned(), |all, names| all + " " + &names);
    let uuids = Uuids::new(fastrand::u64(..));
    let clock = Arc::new(Clock::new(plan.len()));
    let (done, done_seen) = tokio::sync::watch::channel(false);
    // The agents read on a runtime of their own: what FreeSWITCH's side measures (an answer's
    // arrival) is then not held up behind thousands of messages waiting to be read.
    let agents_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("agents")
        .enable_all()
        .build()
        .expect("the agents' runtime");
    let mut agents = Vec::new();
    for token in tokens {
        let connect = agents_runtime.spawn(clients::agent(
            daemon.address,
            token,
            uuids,
            plan.len(),
            clock.clone(),
            done_seen.clone(),
        ));
        agents.push(connect.await.expect("an agent connects"));
    }

    let s3_before = usage::s3_requests().await;
    let db_before = DatabaseCounters::read(&daemon.database).await;
    let (stop_sampling, sampling) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(usage::sample(
        daemon.pid(),
        daemon.staging.clone(),
        sampling,
    ));
    let before = Reading::now(daemon.pid());
    let samples = tests::recordings::fixture_samples("mono_").0;
    let switch = Arc::new(Switch {
        address: daemon.freeswitch_address,
        node: node_sender,
        staging: places.staging.clone(),
        samples: Arc::new(samples),
        template: CallTemplate::load(TENANT, DOMAIN, DESTINATION).subscribed(&subscription),
        uuids,
        clock: clock.clone(),
        started: Instant::now() + Duration::from_millis(200),
        prepaid: !args.postpaid,
    });
    let calls: Vec<_> = plan
        .iter()
        .enumerate()
        .map(|(k, call)| tokio::spawn(caller::play(switch.clone(), k, *call)))
        .collect();
    let progress = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            eprintln!(
                "{:>4} s of {} s",
                started.elapsed().as_secs(),
                last_end.as_secs()
            );
        }
    });
    let mut outcomes: Vec<CallOutcome> = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(call.await.expect("a call's task"));
    }
    progress.abort();
    let load_seconds = switch.started.elapsed().as_secs_f64();
    if let Some(path) = &args.samples {
        // On the plan's time base (the clock started before the agents connected).
        let offset = switch.started.saturating_duration_since(clock.start());
        write_samples(path, &outcomes, offset.as_micros() as u64);
    }

    // The last recordings: until every recorded call has its row, or the drain's end.
    let expected = recorded.iter().filter(|r| **r).count() as i64;
    let ledger = billing::Ledger::connect(&daemon.database).await.unwrap();
    let drained = Instant::now();
    while drained.elapsed() < caller::DRAIN {
        let (stored,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM recordings WHERE call_uuid LIKE $1")
                .bind(format!("%{}", uuids.tail()))
                .fetch_one(ledger.pool())
                .await
                .unwrap_or((0,));
        if stored >= expected {
            // Each recording is announced on /ws just after its row is written.
            tokio::time::sleep(Duration::from_secs(2)).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = done.send(true);
    let mut seen = Vec::new();
    for agent in agents {
        seen.push(agent.await.expect("an agent's task"));
    }
    agents_runtime.shutdown_background();
    let after = Reading::now(daemon.pid());
    let _ = stop_sampling.send(true);
    let peaks = sampler.await.unwrap_or_default();
    // PostgreSQL's statistics come up to a second late.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let db = DatabaseCounters::read(&daemon.database)
        .await
        .since(&db_before);
    let s3_after = usage::s3_requests().await;
    let checks = verify::ledger_and_bucket(&daemon.database, &uuids, &recorded).await;
    let (left_bytes, left_files) = benches::capacity::daemon::staged(&places.staging);

    // Per path.
    let target = |ms: u64| Some(Duration::from_millis(ms));
    let mut directory = PathFigures::new("xml_curl directory lookup", target(5));
    let mut dialplan = PathFigures::new("xml_curl dialplan lookup", target(5));
    let mut cdrs = PathFigures::new("CDR post to 200 (per leg)", target(50));
    let mut events = PathFigures::new("event: node write to agent read", target(100));
    let mut recordings = PathFigures::new("RECORD_STOP to recording stored", target(2000));
    let mut wav_errors = 0;
    let events_not_sent = outcomes.iter().filter(|o| !o.events_sent).count();
    let add = |path: &mut PathFigures, exchange: &Exchange| match exchange {
        Exchange::Ok { micros, .. } => path.micros.push(*micros),
        Exchange::Failed(_) => path.failed += 1,
    };
    for outcome in &outcomes {
        add(&mut directory, &outcome.directory);
        add(&mut dialplan, &outcome.dialplan);
        for cdr in &outcome.cdrs {
            add(&mut cdrs, cdr);
        }
        wav_errors += usize::from(outcome.wav_error.is_some());
    }
    let first_failure = outcomes
        .iter()
        .flat_map(|o| [&o.directory, &o.dialplan, &o.cdrs[0], &o.cdrs[1]])
        .find_map(|e| match e {
            Exchange::Failed(why) => Some(why.clone()),
            Exchange::Ok { .. } => None,
        });
    let (mut duplicated, mut lagged, mut cut) = (0, 0, 0);
    for agent in &mut seen {
        events.micros.append(&mut agent.event_latencies);
        duplicated += agent.duplicated;
        lagged += agent.lagged;
        cut += usize::from(agent.cut);
        events.failed += agent
            .calls
            .iter()
            .map(|bits| (CALL_BITS & !bits).count_ones() as usize)
            .sum::<usize>();
    }
    events.failed += duplicated as usize;
    let mut agents_missing_recordings = 0;
    for (k, _) in recorded.iter().enumerate().filter(|(_, r)| **r) {
        agents_missing_recordings += seen
            .iter()
            .filter(|agent| agent.calls[k] & RECORDING_BIT == 0)
            .count();
        let first = seen
            .iter()
            .map(|agent| agent.recording_at[k])
            .filter(|&t| t > 0)
            .min();
        match (first, clock.end_sent(k)) {
            (Some(at), Some(stop)) => recordings
                .micros
                .push((at - 1).saturating_sub(stop).min(u64::from(u32::MAX)) as u32),
            _ => recordings.failed += 1,
        }
    }
    let mut paths = [directory, dialplan, cdrs, events, recordings];
    for path in &mut paths {
        path.sort();
    }

    println!();
    println!("over {load_seconds:.0} s of load:");
    print_paths(&paths, load_seconds);
    if let Some(why) = first_failure {
        println!("first failed exchange: {why}");
    }
    println!();
    println!("in windows of 30 s:");
    timeline::print(
        &plan,
        &outcomes,
        &peaks.readings,
        switch.started,
        Duration::from_secs(30),
    );
    println!();
    let cpu = CpuUse::between(&before, &after);
    println!("| part | CPU seconds | cores on average |");
    println!("| --- | --- | --- |");
    for (part, seconds) in &cpu.parts {
        println!(
            "| {part} | {seconds:.1} | {:.2} |",
            seconds / cpu.seconds.max(0.001)
        );
    }
    println!(
        "| the whole machine | {:.1} | {:.2} (busiest second {:.2}; {} s at 95 % or more) |",
        cpu.machine,
        cpu.machine / cpu.seconds.max(0.001),
        peaks.busiest_cores,
        peaks.saturated_seconds
    );
    println!();
    println!(
        "daemon peak RSS {:.0} MiB; staging peak {:.1} MiB in {} files; left staged {} files ({} bytes)",
        peaks.daemon_rss as f64 / 1048576.0,
        peaks.staged.0 as f64 / 1048576.0,
        peaks.staged.1,
        left_files,
        left_bytes
    );
    println!(
        "PostgreSQL: {} commits, {} rollbacks, rows inserted {} updated {} deleted {}, fetched {}",
        db.commits, db.rollbacks, db.written.0, db.written.1, db.written.2, db.fetched
    );
    let s3: Vec<String> = s3_after
        .iter()
        .map(|(call, n)| (call, n - s3_before.get(call).copied().unwrap_or(0.0)))
        .filter(|(_, n)| *n > 0.0)
        .map(|(call, n)| format!("{call} {n:.0}"))
        .collect();
    println!(
        "S3 requests: {}",
        if s3.is_empty() {
            "(Garage's metrics did not answer)".to_owned()
        } else {
            s3.join(", ")
        }
    );
    println!(
        "checks: CDRs not exactly both legs for {} calls, recordings of unrecorded calls {}; charges not exactly one for {} ({} charged twice); \
         recordings missing {}, doubled {}, objects missing or wrong size {}; WAVs not written {}; \
         agents' messages duplicated {}, lagged notices {}, sockets cut {}, recording_ready \
         missing {}; holds by state {:?}",
        checks.missing_cdrs,
        checks.unexpected_recordings,
        checks.charges_not_one,
        checks.charged_twice,
        checks.missing_recordings,
        checks.doubled_recordings,
        checks.missing_objects,
        wav_errors,
        duplicated,
        lagged,
        cut,
        agents_missing_recordings,
        checks.holds
    );
    println!(
        "node: {} ESL connection(s) from the daemon, {} calls whose events could not be sent",
        node.log().connections,
        events_not_sent
    );
    print_handler_times(daemon.address).await;
    // What missed, by name: the paths over their target, then anything lost or left.
    let mut missed: Vec<String> = paths
        .iter()
        .filter(|path| !path.held())
        .map(|path| {
            format!(
                "{} p99 {}, {} failed",
                path.name,
                ms(path.quantiles().1),
                path.failed
            )
        })
        .collect();
    for (lost, what) in [
        (!checks.complete(), "the end checks"),
        (events_not_sent > 0, "events not sent"),
        (left_files > 0, "files left staged"),
        (wav_errors > 0, "WAVs not written"),
        (lagged > 0, "lagged notices"),
        (cut > 0, "sockets cut"),
        (agents_missing_recordings > 0, "recording_ready missing"),
    ] {
        if lost {
            missed.push(what.to_owned());
        }
    }
    let held = missed.is_empty();
    if held {
        println!(
            "verdict: HELD: every target met, nothing lost (recording p99 {})",
            ms(paths[4].quantiles().1)
        );
    } else {
        println!("verdict: NOT HELD: {}", missed.join("; "));
    }
    daemon.stop(args.keep_schema).await;
    let _ = std::fs::remove_dir_all(&places.staging);
    if held {
        let _ = std::fs::remove_dir_all(&places.scratch);
    } else {
        println!("daemon's log kept in {}", places.scratch.display());
        std::process::exit(1);
    }
}

/// Writes every lookup's and CDR post's timing as CSV: `path,call,sent_us,micros`, `sent_us`
/// from the plan's start (where the plan's starts and hang-ups are), the clock's micros less
/// `offset`; a failed exchange has no timing and no row. The CDR posts are `cdr_b` (the leg
/// that ran the dialplan) and `cdr_a` (the trunk leg).
fn write_samples(path: &std::path::Path, outcomes: &[CallOutcome], offset: u64) {
    use std::fmt::Write;
    let mut csv = String::from("path,call,sent_us,micros\n");
    for (k, outcome) in outcomes.iter().enumerate() {
        let exchanges = [
            ("directory", &outcome.directory),
            ("dialplan", &outcome.dialplan),
            ("cdr_b", &outcome.cdrs[0]),
            ("cdr_a", &outcome.cdrs[1]),
        ];
        for (name, exchange) in exchanges {
            if let Exchange::Ok { micros, sent } = exchange {
                let sent = i128::from(*sent) - i128::from(offset);
                let _ = writeln!(csv, "{name},{k},{sent},{micros}");
            }
        }
    }
    if let Err(error) = std::fs::write(path, csv) {
        eprintln!(
            "the samples could not be written to {}: {error}",
            path.display()
        );
    }
}

/// Prints the daemon's own timing of FreeSWITCH's routes (its `/metrics` histograms, from the
/// request's arrival in the router to its answer): set beside the generator's, it tells a
/// handler's time from the time on the wire, in the kernel and in the queues.
async fn print_handler_times(address: std::net::SocketAddr) {
    let request = tests::http::request("GET", "/metrics", &[], b"");
    let answered =
        tokio::time::timeout(Duration::from_secs(5), tests::http::send(address, &request)).await;
    let metrics = match answered {
        Ok(Ok(answer)) if answer.status == 200 => {
            String::from_utf8_lossy(&answer.body).into_owned()
        }
        Ok(Ok(answer)) => return println!("daemon's /metrics: status {}", answer.status),
        Ok(Err(error)) => return println!("daemon's /metrics: {error}"),
        Err(_) => return println!("daemon's /metrics: no answer in 5 s"),
    };
    println!("daemon's handler times (/metrics, cumulative count by upper bound):");
    for endpoint in ["/fsapi", "/cdr"] {
        let buckets: Vec<String> = metrics
            .lines()
            .filter(|line| line.starts_with("callcenter_http_request_seconds_bucket"))
            .filter(|line| label_value(line, "endpoint") == Some(endpoint))
            .filter_map(|line| {
                let bound = label_value(line, "le")?;
                let count = line.rsplit(' ').next()?;
                Some(format!("<= {bound} s: {count}"))
            })
            .collect();
        println!("  {endpoint}: {}", buckets.join(", "));
    }
}
