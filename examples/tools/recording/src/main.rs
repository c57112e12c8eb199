//! Transcodes a FreeSWITCH WAV to MP3, or runs the recording pipeline over a staging directory.

use clap::{Args as ClapArgs, Parser, Subcommand};
use recording::Tags;
use recording::Target;
use recording_tool::{Batch, EncoderArgs, run_batch, transcoded_json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Transcode one WAV to MP3 and print what was written as JSON.
    Transcode {
        /// The WAV (16-bit PCM, mono or stereo, 8 to 48 kHz).
        input: PathBuf,
        /// The MP3 to write (through OUTPUT.part).
        output: PathBuf,
        #[command(flatten)]
        encoder: Encoder,
        /// ID3: the call's UUID.
        #[arg(long)]
        uuid: Option<String>,
        /// ID3: the tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// ID3: caller ID number.
        #[arg(long)]
        caller: Option<String>,
        /// ID3: the number called.
        #[arg(long)]
        callee: Option<String>,
        /// ID3: call start, Unix seconds.
        #[arg(long)]
        start: Option<i64>,
    },
    /// Transcode and upload every finished WAV of a staging directory: those with a job file,
    /// and those without one older than --stale-after. A WAV is removed once its object is
    /// verified; a WAV that can never be transcoded goes to quarantine. One JSON line per job.
    Batch(BatchArgs),
}

#[derive(Debug, ClapArgs)]
struct Encoder {
    /// CBR bitrate, kbit/s.
    #[arg(long, default_value_t = 32)]
    bitrate: u16,
    /// VBR quality 0 (best) to 9 instead of CBR.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=9))]
    vbr: Option<u8>,
    /// LAME algorithm quality, 0 (best, slowest) to 9 (7 is LAME's "fast"; 5 the lame CLI's default).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u8).range(0..=9))]
    quality: u8,
    /// Mix stereo down to mono.
    #[arg(long)]
    mono: bool,
}

impl Encoder {
    fn args(&self) -> EncoderArgs {
        EncoderArgs {
            bitrate: self.bitrate,
            vbr: self.vbr,
            quality: self.quality,
            mono: self.mono,
        }
    }
}

#[derive(Debug, ClapArgs)]
struct BatchArgs {
    /// The staging directory.
    staging: PathBuf,
    /// Store objects in this local directory.
    #[arg(
        long,
        conflicts_with = "s3_bucket",
        required_unless_present = "s3_bucket"
    )]
    to_dir: Option<PathBuf>,
    /// S3 bucket to upload to.
    #[arg(long, env = "RECORDING_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// S3 endpoint for MinIO or Garage (path-style; omit for AWS).
    #[arg(long, env = "RECORDING_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, env = "RECORDING_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// S3 access key id.
    #[arg(long, env = "RECORDING_S3_ACCESS_KEY_ID", default_value = "")]
    s3_access_key_id: String,
    /// S3 secret access key (prefer the environment variable).
    #[arg(
        long,
        env = "RECORDING_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    s3_secret_access_key: String,
    /// How uploads are proven: read-back (every store), or checksum (the store validates
    /// x-amz-checksum-sha256: AWS S3, Garage 2.5).
    #[arg(long, value_enum, default_value = "read-back")]
    s3_proof: ProofArg,
    /// Quarantine directory (default: STAGING/quarantine).
    #[arg(long)]
    quarantine: Option<PathBuf>,
    /// Encoder threads (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Seconds after which a WAV without a job file counts as finished.
    #[arg(long, default_value_t = 0)]
    stale_after: u64,
    /// Tenant of WAVs without a job file.
    #[arg(long, default_value = "unassigned")]
    default_tenant: String,
    /// Object key template: {tenant} {uuid} {yyyy} {mm} {dd} {hh}.
    #[arg(long, default_value = "{tenant}/{yyyy}/{mm}/{dd}/{uuid}.mp3")]
    key_template: String,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    encoder: Encoder,
}

fn main() -> ExitCode {
    match Args::parse().command {
        Command::Transcode {
            input,
            output,
            encoder,
            uuid,
            tenant,
            caller,
            callee,
            start,
        } => {
            let tags = (uuid.is_some() || tenant.is_some() || caller.is_some() || callee.is_some())
                .then(|| Tags {
                    call_uuid: uuid.unwrap_or_default(),
                    tenant: tenant.unwrap_or_default(),
                    caller: caller.unwrap_or_default(),
                    callee: callee.unwrap_or_default(),
                    start_epoch: start,
                });
            transcode(&input, &output, &encoder, tags)
        }
        Command::Batch(args) => batch(args.batch()),
    }
}

/// Transcodes one WAV and prints what was written.
fn transcode(input: &Path, output: &Path, encoder: &Encoder, tags: Option<Tags>) -> ExitCode {
    let mut options = encoder.args().options();
    options.tags = tags;
    match recording::transcode_file(input, output, &options) {
        Ok(done) => {
            println!("{}", transcoded_json(&done));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("recording: {}: {error}", input.display());
            ExitCode::FAILURE
        }
    }
}

/// Runs the pipeline over the staging directory; fails when anything is left staged.
fn batch(batch: Batch) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("recording: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(run_batch(&batch, &mut stdout)) {
        Ok(summary) => {
            eprintln!(
                "recording: {} stored, {} quarantined, {} left staged",
                summary.stored, summary.quarantined, summary.left_staged
            );
            if summary.left_staged == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("recording: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--s3-proof`: [`recording::Proof`] on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProofArg {
    Checksum,
    ReadBack,
}

impl BatchArgs {
    /// The batch these arguments describe.
    fn batch(self) -> Batch {
        let target = match (self.to_dir, self.s3_bucket) {
            (Some(dir), _) => Target::Directory(dir),
            (None, Some(bucket)) => Target::S3(recording::S3Config {
                endpoint: self.s3_endpoint,
                bucket,
                region: self.s3_region,
                access_key_id: self.s3_access_key_id,
                secret_access_key: self.s3_secret_access_key,
                proof: match self.s3_proof {
                    ProofArg::Checksum => recording::Proof::Checksum,
                    ProofArg::ReadBack => recording::Proof::ReadBack,
                },
            }),
            (None, None) => unreachable!("clap requires --to-dir or --s3-bucket"),
        };
        Batch {
            quarantine: self
                .quarantine
                .unwrap_or_else(|| self.staging.join("quarantine")),
            staging: self.staging,
            target,
            workers: self
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            stale_after: Duration::from_secs(self.stale_after),
            default_tenant: self.default_tenant,
            key_template: self.key_template,
            encoder: self.encoder.args(),
            progress: !self.no_progress,
        }
    }
}
