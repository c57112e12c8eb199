//! The recording pipeline: WAV files written by FreeSWITCH's `record_session`, transcoded to MP3
//! with bounded memory and uploaded to an object store (local directory, S3, MinIO).
//!
//! - [`wav`]: the RIFF header read without I/O, trusting the file's length over sizes a dying
//!   writer left behind.
//! - [`transcode_file`]: WAV → MP3 through symphonia and LAME, packet by packet, with the LAME
//!   tag (exact duration) and optional ID3 tags.
//! - [`Destination`]: upload to a local directory or S3 (MinIO, Garage), in parts above a size,
//!   then proven by size and ETag (or by reading the object back).
//! - [`staging`]: job files beside the WAVs, `*.part` outputs, recovery after a crash, and the
//!   quarantine.
//! - [`Pipeline`]: encoder threads fed by a bounded crossbeam channel, async verified uploads,
//!   failures retried by the pipeline with backoff (one probe at a time while the store is
//!   down), verification failures quarantined after a few attempts, a [`Report`] per job; a
//!   WAV is deleted only after its object is verified.
//! - [`SpillConfig`]: past a high-water mark of what the staging directory holds, finished
//!   recordings move to a directory on disk; [`StagingStatus`] says what is held where.

pub mod staging;
pub mod wav;

mod pipeline;
mod retries;
mod spill;
mod store;
mod transcode;

pub use pipeline::{Outcome, Pipeline, PipelineConfig, Report, Stored, StoredHook, SubmitError};
pub use spill::{SpillConfig, StagingStatus, move_job};
pub use staging::Job;
#[cfg(feature = "s3")]
pub use store::S3Config;
pub use store::{Destination, KeyLayout, Proof, Target, UploadError, Uploaded, Verification};

pub use transcode::{
    Channels, EncodeOptions, Rate, Tags, TranscodeError, Transcoded, transcode, transcode_file,
};
