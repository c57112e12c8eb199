//! The recording pipeline: WAV files written by FreeSWITCH's `record_session`, transcoded to MP3
//! with bounded memory and uploaded to an object store (local directory, S3, MinIO).
//!
//! A staged WAV is removed only after its upload has been verified. This crate is not
//! implemented yet.
