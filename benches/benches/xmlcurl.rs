//! Building and serialising mod_xml_curl answers: a directory user document (what every SIP
//! REGISTER and call to a user asks for) and a 20-extension dialplan, from typed parts
//! straight into a reused buffer, as a server answers request after request. One core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use xmlcurl::{
    Condition, Context, Dialplan, Directory, Document, Domain, Extension, Group, Request, User,
    a1_hash,
};

/// A directory user as a server builds it from a database row: values borrowed from the row,
/// the `a1-hash` stored with the user (computed once when the password was set).
fn directory_user<'a>(user: &'a str, domain: &'a str, a1_hash: &'a str) -> Directory<'a> {
    Directory::new().domain(
        Domain::new(domain)
            .param("dial-string", "{presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(${dialed_user}@${dialed_domain})}")
            .group(
                Group::new("default").user(
                    User::new(user)
                        .param("a1-hash", a1_hash)
                        .cacheable_ms(60_000)
                        .variable("user_context", "tenant_42")
                        .variable("accountcode", "42")
                        .variable("effective_caller_id_name", "Alice \"Sales\" <EU>")
                        .variable("effective_caller_id_number", user)
                        .variable("tenant_id", "42")
                        .variable("record_policy", "always"),
                ),
            ),
    )
}

fn dialplan(extensions: usize) -> Dialplan<'static> {
    let mut context = Context::new("tenant_42");
    for i in 0..extensions {
        context = context.extension(
            Extension::new(format!("ext_{i}")).condition(
                Condition::new("destination_number", format!("^(1{i:03})$"))
                    .action("set", Some("call_timeout=30"))
                    .action("set", Some("hangup_after_bridge=true"))
                    .action("record_session", Some("/var/spool/recordings/${uuid}.wav"))
                    .action_owned("bridge", format!("user/1{i:03}@tenant42.example")),
            ),
        );
    }
    Dialplan::new().context(context)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("xmlcurl");
    group.throughput(Throughput::Elements(1));
    let mut buffer = Vec::with_capacity(4096);
    let stored_hash = a1_hash("1000", "tenant42.example", "s3cret-Passw0rd");
    group.bench_function("directory_user_document", |b| {
        b.iter(|| {
            buffer.clear();
            directory_user(
                black_box("1000"),
                black_box("tenant42.example"),
                black_box(&stored_hash),
            )
            .write_xml(&mut buffer);
            black_box(buffer.len())
        })
    });
    group.bench_function("directory_user_document_hashing_password", |b| {
        b.iter(|| {
            buffer.clear();
            let hash = a1_hash(
                black_box("1000"),
                black_box("tenant42.example"),
                black_box("s3cret-Passw0rd"),
            );
            directory_user(black_box("1000"), black_box("tenant42.example"), &hash)
                .write_xml(&mut buffer);
            black_box(buffer.len())
        })
    });
    let built = dialplan(20);
    println!(
        "directory document: {} bytes; 20-extension dialplan: {} bytes",
        directory_user("1000", "tenant42.example", &stored_hash)
            .to_xml()
            .len(),
        built.to_xml().len()
    );
    group.bench_function("dialplan_20_extensions", |b| {
        b.iter(|| {
            buffer.clear();
            dialplan(black_box(20)).write_xml(&mut buffer);
            black_box(buffer.len())
        })
    });
    group.bench_function("dialplan_20_extensions_serialise_only", |b| {
        b.iter(|| {
            buffer.clear();
            black_box(&built).write_xml(&mut buffer);
            black_box(buffer.len())
        })
    });
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/freeswitch/xml_curl/005_fsapi_dialplan.http"
    ))
    .unwrap();
    let body = body[body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..].to_vec();
    group.bench_function("parse_dialplan_request", |b| {
        b.iter(|| {
            let request = Request::parse(black_box(&body)).unwrap();
            black_box(
                request
                    .dialplan()
                    .and_then(|d| d.destination())
                    .map(str::len),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
