//! `esl-console`: in the spirit of `fs_cli`. With a command, runs it as `api` and prints the
//! result; otherwise subscribes and prints events as JSON lines until stopped.

use crate::json::event_fields;
use esl::client::{Error, Incoming, Options};
use esl::proto::EventFormat;
use std::io::Write;

/// What to do once connected.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Run one `api` command and print its result.
    Api(String),
    /// Stream events.
    Events {
        /// The event format on the wire.
        format: EventFormat,
        /// Event names (`ALL` by default).
        names: Vec<String>,
        /// `header=value` filters.
        filters: Vec<(String, String)>,
        /// Stop after this many events (forever when `None`).
        count: Option<u64>,
    },
}

/// Runs the console against an open connection's options, writing to `out`.
pub async fn run(options: Options, mode: Mode, out: &mut impl Write) -> Result<(), Error> {
    let (client, mut events) = options.connect().await?;
    match mode {
        Mode::Api(command) => {
            let result = client.api(&command).await;
            let _ = client.exit().await;
            let body = result?;
            out.write_all(body.as_bytes())?;
            if !body.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Mode::Events {
            format,
            names,
            filters,
            count,
        } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            client.subscribe(format, &names).await?;
            for (header, value) in &filters {
                client.filter(header, value).await?;
            }
            let mut printed = 0u64;
            while count.is_none_or(|max| printed < max) {
                let Some(item) = events.recv().await else {
                    break;
                };
                match item {
                    Incoming::Event(event) => {
                        serde_json::to_writer(&mut *out, &event_fields(&event))
                            .map_err(std::io::Error::from)?;
                        out.write_all(b"\n")?;
                        printed += 1;
                    }
                    Incoming::Disconnected(error) => return Err(error),
                    Incoming::Reconnected { attempts } => {
                        eprintln!("esl-console: reconnected after {attempts} attempt(s)");
                    }
                    _ => {}
                }
            }
            out.flush()?;
            let _ = client.exit().await;
            Ok(())
        }
    }
}
