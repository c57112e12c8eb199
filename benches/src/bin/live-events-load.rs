//! Load: a FreeSWITCH node plays thousands of calls' worth of real events (the captured loopback
//! call, UUIDs renewed per call) into the ESL worker, which publishes each leg's transitions to
//! WebSocket clients through the API's `/ws`.
//!
//! Reports the events per second into the worker, the messages per second out to the clients and
//! the delivery latency (from the moment the node wrote a call's events to the moment a client
//! read each of that call's messages). Every client must receive each message of its tenant's
//! calls exactly once (each leg started, answered, ended): what is missing or came twice is
//! counted, and the run fails (status 1) if anything is.
//!
//! ```text
//! cargo run --release -p benches --bin live-events-load -- [--calls N] [--clients N]
//!     [--tenants N] [--rate EVENTS_PER_S] [--bus NATS_URL [--apis-in-process]]
//! ```
//! Without `--rate` the node sends as fast as the worker takes them.
//!
//! With `--bus`, one invocation runs two configurations back to back on the same load (a new
//! node playing the same calls, new clients) and prints them side by side:
//!
//! - **single process**: ESL worker → in-process hub → one API listener → every client (as
//!   without `--bus`);
//! - **bus**: the ESL worker's hub publishes to NATS JetStream (`Hub::with_outbound`); two API
//!   instances, each with its own NATS connection, hub (whose own publisher stays idle) and
//!   `Follower` of the stream, serve `/ws` with `live` from their follower's mirror and no ESL
//!   worker (`esl: None`), as API daemons on other hosts would; each tenant's clients are
//!   spread evenly over the two listeners. By default each API instance is a child process
//!   (this binary, run with an internal `--api-instance` flag, sharing the SQLite file); with
//!   `--apis-in-process` both run in this process, on its runtime (separate hubs, followers,
//!   NATS connections and listeners, but one OS process).
//!
//! Each configuration reports the same figures: events/s into the worker, messages/s to the
//! clients (from the worker's start to the last new message a client read), the delivery
//! latency p50/p99/max and what was missing or duplicated; the CPU time of this process (and of
//! the API processes; the NATS server's is not counted) and, for the bus, the worker's
//! publisher: messages the stream acknowledged, when the last one was, and how many it refused
//! (its queue full: the worker publishes faster than the stream takes them).
//!
//! The bus's stream is named after a prefix unique to the run (`lel<pid>-<unix time>`) and is
//! deleted at the end. Everything runs on loopback on this host: node, worker, NATS server, API
//! instances and clients share its cores.

use benches::percentile;
use billing::Ledger;
use callcenter::api::{ApiState, ApiUser, Limits, Role, Tokens, Users};
use callcenter::bus::{Bus, Follower, NatsSettings};
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use futures_util::StreamExt;
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::{PlatformStore, Tenant};
use platform::variables::ChannelVariables;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::node::{Calls, EventFrame, FakeNode, SentTimes, Session, call_index, event_frames};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

const A_LEG: &str = "ed22627b-4a74-4b96-b832-34a59357db96";
const B_LEG: &str = "de9d1a63-359d-4c70-9c3e-368107efbe3c";
/// Messages per call the clients of its tenant receive: each leg starts, is answered, ends.
const MESSAGES_PER_CALL: usize = 6;
/// Every hub's capacity (per tenant), in both configurations.
const HUB_CAPACITY: usize = 65_536;
/// The API instances behind the bus.
const API_INSTANCES: usize = 2;
const TOKEN_SECRET: &[u8] = b"load test secret, long enough";
/// Longest wait for a client's next message before it gives up.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Once a client has every message, how long it keeps listening for duplicates (the quiet time
/// that ends it, and its longest total).
const DRAIN_QUIET: Duration = Duration::from_millis(300);
const DRAIN_MAX: Duration = Duration::from_secs(2);

struct Args {
    calls: usize,
    clients: usize,
    tenants: usize,
    rate: Option<u32>,
    bus: Option<String>,
    apis_in_process: bool,
    /// Internal: run as one API instance behind the bus (prefix, database directory).
    api_instance: Option<(String, PathBuf)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: live-events-load [--calls N] [--clients N] [--tenants N] [--rate EVENTS_PER_S] \
         [--bus NATS_URL [--apis-in-process]]"
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut args = Args {
        calls: 20_000,
        clients: 100,
        tenants: 10,
        rate: None,
        bus: None,
        apis_in_process: false,
        api_instance: None,
    };
    let mut prefix = None;
    let mut dir = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--apis-in-process" {
            args.apis_in_process = true;
            continue;
        }
        let Some(value) = it.next() else { usage() };
        let number = || value.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--calls" => args.calls = number().max(1),
            "--clients" => args.clients = number().max(1),
            "--tenants" => args.tenants = number().clamp(1, 1000),
            "--rate" => args.rate = Some(number().clamp(1, u32::MAX as usize) as u32),
            "--bus" => args.bus = Some(value),
            "--api-instance" => prefix = Some(value),
            "--dir" => dir = Some(PathBuf::from(value)),
            _ => usage(),
        }
    }
    if let (Some(prefix), Some(dir)) = (prefix, dir) {
        args.api_instance = Some((prefix, dir));
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
    if let Some((prefix, dir)) = &args.api_instance {
        return api_instance(&args, prefix, dir).await;
    }
    let dir = std::env::temp_dir().join(format!("live-events-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let setup = Arc::new(Setup::new(&args, &dir).await);
    let args = Arc::new(args);

    let single = run(setup.clone(), args.clone(), Apis::Single).await;
    if args.bus.is_some() {
        // Shown now, in case the bus run fails; both side by side at the end.
        println!("[{}]", single.label);
    }
    single.print_alone(&args);
    let Some(url) = args.bus.clone() else {
        let failed = !single.complete();
        let _ = std::fs::remove_dir_all(&dir);
        if failed {
            std::process::exit(1);
        }
        return;
    };
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let prefix = format!("lel{}-{unix}", std::process::id());
    let apis = Apis::Bus {
        url: url.clone(),
        prefix: prefix.clone(),
        in_process: args.apis_in_process,
    };
    // In a task of its own: whatever happens to it, the stream is deleted below.
    let bus = tokio::spawn(run(setup.clone(), args.clone(), apis)).await;
    delete_streams(&url, &prefix).await;
    let _ = std::fs::remove_dir_all(&dir);
    let bus = match bus {
        Ok(bus) => bus,
        Err(error) => {
            eprintln!("the bus configuration failed: {error}");
            std::process::exit(1);
        }
    };
    println!("[{}]", bus.label);
    bus.print_alone(&args);
    println!();
    print_side_by_side(&args, &single, &bus);
    if !single.complete() || !bus.complete() {
        std::process::exit(1);
    }
}

/// What both configurations share: the database, tenants, agents, tokens and the call.
struct Setup {
    dir: PathBuf,
    ledger: Ledger,
    store: PlatformStore,
    tokens: Tokens,
    agents: Vec<ApiUser>,
    contexts: Vec<String>,
    template: Vec<EventFrame>,
}

fn database_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display())
}

fn tokens() -> Tokens {
    Tokens::new(TOKEN_SECRET, Duration::from_secs(3600))
}

impl Setup {
    async fn new(args: &Args, dir: &Path) -> Self {
        let ledger = Ledger::connect(&database_url(dir)).await.unwrap();
        let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
            .await
            .unwrap();
        // Tenant k owns context `ctx{k:04}`: seven characters, like the capture's `default`.
        let contexts: Vec<String> = (0..args.tenants).map(|k| format!("ctx{k:04}")).collect();
        for (k, context) in contexts.iter().enumerate() {
            store
                .put_tenant(&Tenant {
                    tenant: format!("t{k}"),
                    domain: format!("t{k}.example"),
                    context: context.clone(),
                    gateway: None,
                    prepaid: false,
                    record_calls: false,
                    prepaid_slice_seconds: None,
                    time_zone: None,
                    disabled: false,
                })
                .await
                .unwrap();
        }
        // One agent per tenant, whose token every client of that tenant shares.
        let users = Users::new(ledger.pool().clone());
        let agents: Vec<ApiUser> = (0..args.tenants)
            .map(|k| ApiUser {
                tenant: format!("t{k}"),
                username: "load".into(),
                role: Role::Agent,
                extension: None,
            })
            .collect();
        for agent in &agents {
            users.put(agent, "load-password").await.unwrap();
        }
        let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
        let template = event_frames(&capture)
            .into_iter()
            .filter(|f| f.name.starts_with("CHANNEL_") || f.name == "RECORD_STOP")
            .collect();
        Setup {
            dir: dir.to_owned(),
            ledger,
            store,
            tokens: tokens(),
            agents,
            contexts,
            template,
        }
    }
}

/// The API's state over `hub`: live calls from `live` (a bus follower), no ESL worker.
fn api_state(
    ledger: &Ledger,
    store: &PlatformStore,
    tokens: &Tokens,
    hub: Hub,
    live: Option<Follower>,
    clients: usize,
) -> ApiState {
    let mut limits = Limits::default();
    limits.sockets_per_token = clients;
    ApiState {
        tokens: tokens.clone(),
        users: Users::new(ledger.pool().clone()),
        ledger: ledger.clone(),
        cache: Cache::new(store.clone(), Duration::from_secs(60)),
        variables: ChannelVariables::default(),
        esl: None,
        live,
        hub,
        recordings: None,
        download_ttl: Duration::from_secs(60),
        media_sources: Default::default(),
        limits,
    }
}

async fn serve(state: ApiState) -> (SocketAddr, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, callcenter::api::router(state))
            .await
            .unwrap()
    });
    (address, server)
}

fn nats_settings(url: &str, prefix: &str) -> NatsSettings {
    NatsSettings {
        url: Some(url.to_owned()),
        prefix: prefix.to_owned(),
        // Short, so whatever a failed run leaves expires soon; not under the stream's 120 s
        // duplicate window, which JetStream refuses (the stream would never be made).
        retention_s: 300,
        ..Default::default()
    }
}

/// One API instance behind the bus, as an API daemon on its own would run: its own NATS
/// connection, a hub with its own (idle) publisher, a follower delivering to the hub, `/ws`.
async fn api_instance_state(
    url: &str,
    prefix: &str,
    ledger: &Ledger,
    store: &PlatformStore,
    tokens: &Tokens,
    clients: usize,
) -> Result<ApiState, String> {
    let bus = Bus::connect(&nats_settings(url, prefix))
        .await
        .map_err(|e| e.to_string())?;
    let hub = Hub::with_outbound(HUB_CAPACITY, bus.outbound());
    let follower = Follower::start(&bus, hub.clone());
    Ok(api_state(
        ledger,
        store,
        tokens,
        hub,
        Some(follower),
        clients,
    ))
}

/// The child process's side of `--api-instance`: serves until its standard input closes.
async fn api_instance(args: &Args, prefix: &str, dir: &Path) {
    let Some(url) = &args.bus else { usage() };
    let ledger = Ledger::connect(&database_url(dir)).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let state =
        match api_instance_state(url, prefix, &ledger, &store, &tokens(), args.clients).await {
            Ok(state) => state,
            Err(error) => {
                eprintln!("api instance: {error}");
                std::process::exit(1);
            }
        };
    let (address, _server) = serve(state).await;
    println!("listening {address}");
    std::io::stdout().flush().unwrap();
    // The parent closes our standard input (or dies) when the run is over.
    let _ = tokio::task::spawn_blocking(|| {
        let mut buf = [0u8; 64];
        while std::io::stdin().read(&mut buf).is_ok_and(|n| n > 0) {}
    })
    .await;
}

/// Where the clients' `/ws` is served.
enum Apis {
    /// The worker's hub, one API listener in this process.
    Single,
    /// The worker's hub publishes to NATS; two API instances follow it.
    Bus {
        url: String,
        prefix: String,
        in_process: bool,
    },
}

/// The API instances of a run, to stop at its end.
#[derive(Default)]
struct Servers {
    tasks: Vec<JoinHandle<()>>,
    children: Vec<std::process::Child>,
}

impl Servers {
    /// Stops the listeners; closes the children's standard input and waits for them (5 s,
    /// then kills them); their CPU time, seconds.
    async fn stop(mut self) -> f64 {
        for task in &self.tasks {
            task.abort();
        }
        let cpu = self.children.iter().map(|c| cpu_seconds(c.id())).sum();
        for child in &mut self.children {
            drop(child.stdin.take());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!("api instance {} did not stop; killing it", child.id());
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        cpu
    }
}

/// A process's CPU time so far (user and system), seconds; 0 when unknown. `/proc` counts in
/// USER_HZ, 100 on Linux.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) as f64 / 100.0,
        _ => 0.0,
    }
}

/// Starts an API instance as a child process; its listener.
fn spawn_api_instance(
    url: &str,
    prefix: &str,
    dir: &Path,
    clients: usize,
) -> Result<(SocketAddr, std::process::Child), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args(["--bus", url, "--api-instance", prefix])
        .arg("--dir")
        .arg(dir)
        .args(["--clients", &clients.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let read = std::io::BufReader::new(stdout).read_line(&mut line);
    let address = read
        .ok()
        .and_then(|_| line.trim().strip_prefix("listening ")?.parse().ok());
    match address {
        Some(address) => Ok((address, child)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("api instance did not start: {line:?}"))
        }
    }
}

/// Waits until `consumers` consumers follow the events' stream (each follower made it if
/// missing, read where it ends and is reading: what is published from now on is news to it,
/// not history).
async fn wait_for_followers(url: &str, prefix: &str, consumers: usize) -> Result<(), String> {
    let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
    let jetstream = async_nats::jetstream::new(client);
    let name = format!("{}_EVENTS", prefix.to_ascii_uppercase());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let following = match jetstream.get_stream(&name).await {
            Ok(stream) => stream
                .get_info()
                .await
                .map_or(0, |info| info.state.consumer_count),
            // Not made yet.
            Err(_) => 0,
        };
        if following >= consumers {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{following} of {consumers} followers on {name} after 15 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deletes the run's streams: the events', and the recordings' if something made it.
async fn delete_streams(url: &str, prefix: &str) {
    let client = match async_nats::connect(url).await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot delete the bus's streams: {error}");
            return;
        }
    };
    let jetstream = async_nats::jetstream::new(client);
    for (kind, required) in [("EVENTS", true), ("RECORDINGS", false)] {
        let name = format!("{}_{kind}", prefix.to_ascii_uppercase());
        if !required && jetstream.get_stream(&name).await.is_err() {
            continue;
        }
        if let Err(error) = jetstream.delete_stream(&name).await {
            eprintln!("cannot delete the stream {name}: {error}");
        }
    }
}

/// What one client received.
#[derive(Default)]
struct Received {
    /// One per message received for the first time.
    latencies: Vec<Duration>,
    expected: usize,
    missing: usize,
    duplicated: usize,
    /// Call messages of calls not of the client's tenant, or unknown.
    foreign: usize,
    lagged: u64,
    /// When the last new message arrived.
    last: Option<Instant>,
}

/// One configuration's figures.
struct Outcome {
    label: String,
    events: u64,
    node_sent: usize,
    ingest: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
    expected: usize,
    missing: usize,
    duplicated: usize,
    foreign: usize,
    lagged: u64,
    /// From the worker's start to the last new message any client read.
    delivered_in: Duration,
    /// Messages each API listener's clients received.
    per_listener: Vec<usize>,
    /// CPU seconds of this process, and of the API child processes.
    cpu: f64,
    cpu_children: f64,
    /// The worker's bus publisher: published, retried, dropped, and when the stream had
    /// acknowledged every call event the worker published (from the worker's start).
    publisher: Option<(u64, u64, u64, Duration)>,
}

impl Outcome {
    fn complete(&self) -> bool {
        self.latencies.len() == self.expected
            && self.missing == 0
            && self.duplicated == 0
            && self.foreign == 0
    }

    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.ingest.as_secs_f64()
    }

    fn messages_per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.delivered_in.as_secs_f64()
    }

    fn ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p).as_secs_f64() * 1e3
    }

    fn max_ms(&self) -> f64 {
        self.latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    }

    fn print_alone(&self, args: &Args) {
        println!(
            "{} calls, {} events from the node ({} sent), {} clients over {} tenants, rate {}",
            args.calls,
            self.events,
            self.node_sent,
            args.clients,
            args.tenants,
            rate(args)
        );
        println!(
            "into the worker: {:.0} events/s ({} in {:.2} s)",
            self.events_per_s(),
            self.events,
            self.ingest.as_secs_f64()
        );
        println!(
            "to the clients: {} of {} messages, {:.0} messages/s, lagged notices {}",
            self.latencies.len(),
            self.expected,
            self.messages_per_s(),
            self.lagged
        );
        println!(
            "delivery latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ms(0.50),
            self.ms(0.99),
            self.max_ms()
        );
        println!(
            "exactly once: {} missing, {} duplicated, {} of other tenants' calls",
            self.missing, self.duplicated, self.foreign
        );
        if let Some(publisher) = self.publisher_text() {
            println!("worker's bus publisher: {publisher}");
        }
    }

    fn publisher_text(&self) -> Option<String> {
        let (published, retried, dropped, all_in) = self.publisher?;
        Some(format!(
            "{published} published ({:.0}/s, all in {:.2} s), {retried} retried, {dropped} dropped",
            published as f64 / all_in.as_secs_f64(),
            all_in.as_secs_f64()
        ))
    }
}

fn rate(args: &Args) -> String {
    args.rate
        .map_or("unpaced".to_owned(), |r| format!("{r} events/s"))
}

fn print_side_by_side(args: &Args, a: &Outcome, b: &Outcome) {
    println!(
        "{} calls ({} events each run), {} clients over {} tenants, rate {}; same host, loopback",
        args.calls,
        args.calls * 9,
        args.clients,
        args.tenants,
        rate(args)
    );
    let width = 34;
    let row = |name: &str, x: String, y: String| println!("{name:<26} {x:<width$} {y}");
    row("", a.label.clone(), b.label.clone());
    row(
        "into the worker",
        format!(
            "{:.0} events/s ({} in {:.2} s)",
            a.events_per_s(),
            a.events,
            a.ingest.as_secs_f64()
        ),
        format!(
            "{:.0} events/s ({} in {:.2} s)",
            b.events_per_s(),
            b.events,
            b.ingest.as_secs_f64()
        ),
    );
    let delivered = |o: &Outcome| {
        format!(
            "{:.0} messages/s ({:.2} s)",
            o.messages_per_s(),
            o.delivered_in.as_secs_f64()
        )
    };
    row("to the clients", delivered(a), delivered(b));
    let counts = |o: &Outcome| {
        let split = o
            .per_listener
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" + ");
        format!("{} of {} ({split})", o.latencies.len(), o.expected)
    };
    row("messages received", counts(a), counts(b));
    let latency = |o: &Outcome, p: f64| format!("{:.2} ms", o.ms(p));
    row("delivery latency p50", latency(a, 0.5), latency(b, 0.5));
    row("delivery latency p99", latency(a, 0.99), latency(b, 0.99));
    row(
        "delivery latency max",
        format!("{:.2} ms", a.max_ms()),
        format!("{:.2} ms", b.max_ms()),
    );
    let losses = |o: &Outcome| {
        format!(
            "{} missing, {} duplicated, {} foreign",
            o.missing, o.duplicated, o.foreign
        )
    };
    row("exactly once", losses(a), losses(b));
    row("lagged notices", a.lagged.to_string(), b.lagged.to_string());
    let cpu = |o: &Outcome| {
        if o.cpu_children > 0.0 {
            format!(
                "{:.2} s here + {:.2} s API processes",
                o.cpu, o.cpu_children
            )
        } else {
            format!("{:.2} s", o.cpu)
        }
    };
    row("CPU (NATS server apart)", cpu(a), cpu(b));
    let publisher = |o: &Outcome| o.publisher_text().unwrap_or_else(|| "-".to_owned());
    row("worker's bus publisher", publisher(a), publisher(b));
}

/// One configuration: a node playing the calls, the worker, the API instances, the clients.
async fn run(setup: Arc<Setup>, args: Arc<Args>, apis: Apis) -> Outcome {
    let cpu_before = cpu_seconds(std::process::id());
    let sent = SentTimes::new(args.calls);
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            calls: Some(Calls {
                template: setup.template.clone(),
                uuids: vec![A_LEG.into(), B_LEG.into()],
                vary: vec![(
                    "Caller-Context: default".into(),
                    setup
                        .contexts
                        .iter()
                        .map(|c| format!("Caller-Context: {c}"))
                        .collect(),
                )],
                calls: args.calls,
                rate: args.rate,
                sent: sent.clone(),
            }),
            pause_before: Vec::new(),
            ..Session::idle()
        }],
    )
    .await;

    let mut servers = Servers::default();
    let mut addresses = Vec::new();
    let mut publisher = None;
    let (label, worker_hub) = match &apis {
        Apis::Single => {
            let hub = Hub::new(HUB_CAPACITY);
            let state = api_state(
                &setup.ledger,
                &setup.store,
                &setup.tokens,
                hub.clone(),
                None,
                args.clients,
            );
            let (address, server) = serve(state).await;
            addresses.push(address);
            servers.tasks.push(server);
            ("single process".to_owned(), hub)
        }
        Apis::Bus {
            url,
            prefix,
            in_process,
        } => {
            let bus = Bus::connect(&nats_settings(url, prefix)).await.unwrap();
            let outbound = bus.outbound();
            publisher = Some(outbound.metrics());
            for _ in 0..API_INSTANCES {
                if *in_process {
                    let state = api_instance_state(
                        url,
                        prefix,
                        &setup.ledger,
                        &setup.store,
                        &setup.tokens,
                        args.clients,
                    )
                    .await
                    .unwrap();
                    let (address, server) = serve(state).await;
                    addresses.push(address);
                    servers.tasks.push(server);
                } else {
                    let (address, child) =
                        spawn_api_instance(url, prefix, &setup.dir, args.clients).unwrap();
                    addresses.push(address);
                    servers.children.push(child);
                }
            }
            wait_for_followers(url, prefix, API_INSTANCES)
                .await
                .unwrap();
            let label = if *in_process {
                format!("bus: {API_INSTANCES} APIs in this process")
            } else {
                format!("bus: {API_INSTANCES} API processes")
            };
            (label, Hub::with_outbound(HUB_CAPACITY, outbound))
        }
    };

    // Clients first, spread over the tenants (and each tenant's over the listeners), each
    // waiting for its snapshot.
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let tenant = c % args.tenants;
        let listener = (c / args.tenants) % addresses.len();
        // Each was put once: credentials version 0.
        let (token, _) = setup.tokens.issue(&setup.agents[tenant], 0);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(16 * 1024);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{}/ws?token={token}", addresses[listener]),
            Some(config),
            true,
        )
        .await
        .unwrap();
        let _snapshot = socket.next().await.unwrap().unwrap();
        let sent = sent.clone();
        let (calls, tenants) = (args.calls, args.tenants);
        clients.push((
            listener,
            tokio::spawn(async move {
                let mut got = Received::default();
                // Per call, one bit per message: leg (A, B) × started, answered, ended.
                let mut seen = vec![0u8; calls];
                let expected = (tenant..calls).step_by(tenants).count() * MESSAGES_PER_CALL;
                got.expected = expected;
                got.latencies.reserve(expected);
                let mut drain_until: Option<Instant> = None;
                loop {
                    let wait = match drain_until {
                        None => CLIENT_TIMEOUT,
                        Some(until) => {
                            DRAIN_QUIET.min(until.saturating_duration_since(Instant::now()))
                        }
                    };
                    let next = tokio::time::timeout(wait, socket.next()).await;
                    let Ok(Some(Ok(Message::Text(text)))) = next else {
                        break;
                    };
                    let now = Instant::now();
                    match message(&text) {
                        Some((k, bit)) if k % tenants == tenant && k < calls => {
                            if seen[k] & bit != 0 {
                                got.duplicated += 1;
                            } else {
                                seen[k] |= bit;
                                if let Some(sent_at) = sent.get(k) {
                                    got.latencies.push(now.saturating_duration_since(sent_at));
                                }
                                got.last = Some(now);
                            }
                        }
                        Some(_) => got.foreign += 1,
                        None if text.contains("\"type\":\"lagged\"") => got.lagged += 1,
                        None => {}
                    }
                    if drain_until.is_none() && got.latencies.len() >= expected {
                        drain_until = Some(now + DRAIN_MAX);
                    }
                }
                got.missing = (tenant..calls)
                    .step_by(tenants)
                    .map(|k| MESSAGES_PER_CALL - seen[k].count_ones() as usize)
                    .sum();
                got
            }),
        ));
    }

    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        setup.dir.join("staging"),
    );
    config.prepaid = false;
    // No leases (SQLite) and no follower: this worker always acts for its node.
    let started = Instant::now();
    let worker = EslWorker::start(
        config,
        setup.ledger.clone(),
        Cache::new(setup.store.clone(), Duration::from_secs(60)),
        worker_hub,
        None,
    );
    let metrics = worker.metrics();
    let frames_per_call = 9;
    let expected_events = (args.calls * frames_per_call) as u64;
    let mut last_change = Instant::now();
    let mut last_seen = 0;
    while metrics.events.get() < expected_events {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let seen = metrics.events.get();
        if seen != last_seen {
            last_seen = seen;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(10) {
            eprintln!("the worker stopped at {seen} of {expected_events} events");
            break;
        }
    }
    let ingest = started.elapsed();
    let events = metrics.events.get();
    // With the bus: when the stream had acknowledged (or the publisher refused) every call
    // event the worker published (the node's states come on top, uncounted here).
    let mut acknowledged_in = None;
    if let Some(publisher) = &publisher {
        let done = || publisher.published.get() + publisher.dropped.get();
        let mut last_change = Instant::now();
        let mut last_seen = done();
        while done() < metrics.published.get() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let seen = done();
            if seen != last_seen {
                last_seen = seen;
                last_change = Instant::now();
            } else if last_change.elapsed() > Duration::from_secs(10) {
                eprintln!("the bus publisher stopped at {seen} messages");
                break;
            }
        }
        acknowledged_in = Some(last_change.max(started) - started);
    }

    let mut latencies = Vec::new();
    let mut per_listener = vec![0; addresses.len()];
    let (mut expected, mut missing, mut duplicated, mut foreign, mut lagged) = (0, 0, 0, 0, 0);
    let mut last = started;
    for (listener, client) in clients {
        let got = client.await.unwrap();
        expected += got.expected;
        missing += got.missing;
        duplicated += got.duplicated;
        foreign += got.foreign;
        lagged += got.lagged;
        per_listener[listener] += got.latencies.len();
        last = last.max(got.last.unwrap_or(started));
        latencies.extend(got.latencies);
    }
    latencies.sort();
    worker.shutdown().await;
    let cpu_children = servers.stop().await;
    Outcome {
        label,
        events,
        node_sent: node.events_sent(),
        ingest,
        latencies,
        expected,
        missing,
        duplicated,
        foreign,
        lagged,
        delivered_in: last - started,
        per_listener,
        cpu: cpu_seconds(std::process::id()) - cpu_before,
        cpu_children,
        publisher: publisher.map(|m| {
            (
                m.published.get(),
                m.retried.get(),
                m.dropped.get(),
                acknowledged_in.unwrap_or_default(),
            )
        }),
    }
}

/// A call message's call and bit (leg × type); `None` for anything else (snapshot, lagged).
/// The text is `{"seq":N,"type":"call_...","call":{"uuid":"...`: read, not parsed.
fn message(text: &str) -> Option<(usize, u8)> {
    let at = text.find("\"type\":\"")? + 8;
    let kind = match text[at..].split('"').next()? {
        "call_started" => 0,
        "call_answered" => 1,
        "call_ended" => 2,
        _ => return None,
    };
    let at = text.find("\"uuid\":\"")? + 8;
    let uuid = &text[at..];
    let k = call_index(uuid)?;
    // The template's UUID index (0: A leg, 1: B leg) is the generated UUID's second group.
    let leg = u8::from_str_radix(uuid.get(9..13)?, 16).ok()?;
    if leg > 1 {
        // Not a leg of the template: counted as foreign.
        return Some((usize::MAX, 0));
    }
    Some((k, 1 << (leg * 3 + kind)))
}
