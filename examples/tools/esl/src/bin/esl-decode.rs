//! Decodes a raw ESL byte stream into JSON lines, one per frame.

use clap::Parser;
use esl::proto::Limits;
use esl_tools::decode::{Options, run};
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

/// Decode a raw FreeSWITCH event-socket byte stream into one JSON object per frame.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The stream to read; standard input when absent or `-`.
    input: Option<PathBuf>,
    /// Print event frames only.
    #[arg(long)]
    events_only: bool,
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_FRAME_SIZE)]
    max_frame_size: usize,
    /// Most headers accepted in one frame or event.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_HEADERS)]
    max_headers: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options {
        events_only: args.events_only,
        limits: Limits::default()
            .max_frame_size(args.max_frame_size)
            .max_headers(args.max_headers),
    };
    let stdout = io::stdout().lock();
    let result = match args.input.as_deref() {
        None => run(io::stdin().lock(), stdout, options),
        Some(path) if path.as_os_str() == "-" => run(io::stdin().lock(), stdout, options),
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => run(file, stdout, options),
            Err(err) => {
                eprintln!("esl-decode: {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(esl_tools::decode::DecodeError::Io(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("esl-decode: {err}");
            ExitCode::FAILURE
        }
    }
}
