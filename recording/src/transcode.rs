//! WAV → MP3, streamed: the WAV is read packet by packet through symphonia and each packet is
//! encoded by LAME at once, so memory does not grow with the recording's length.

use crate::wav::{MAX_HEADER, WavError, WavLayout};
use mp3lame_encoder::{Builder, FlushGap, Id3Tag, InterleavedPcm, MonoPcm};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};

/// Why a transcode failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The input is not a WAV we transcode (see [`WavError`]).
    #[error(transparent)]
    Wav(#[from] WavError),
    /// Reading the WAV or writing the MP3 failed.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// symphonia could not read the samples.
    #[error("decoding the WAV: {0}")]
    Decode(String),
    /// LAME refused the settings (a bitrate the sample rate does not allow) or failed.
    #[error("MP3 encoder: {0}")]
    Encoder(String),
}

impl TranscodeError {
    /// Whether trying again can help: I/O can recover; a bad file or bad settings cannot.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, TranscodeError::Io(_))
    }
}

/// How LAME spends bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// Constant bitrate in kbit/s (8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224,
    /// 256 or 320; low sample rates allow only the lower ones).
    Cbr(u16),
    /// Variable bitrate, quality 0 (best) to 9 (smallest).
    Vbr(u8),
}

/// How channels are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channels {
    /// Mono stays mono, stereo becomes joint stereo.
    #[default]
    Keep,
    /// Stereo is mixed down to mono (half the bits for a call where both legs share a channel).
    Mono,
}

/// What the MP3 carries as ID3v2 tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tags {
    /// The call's UUID (written as the title).
    pub call_uuid: String,
    /// The tenant (written as the album).
    pub tenant: String,
    /// Caller ID number (written as the artist).
    pub caller: String,
    /// The number called.
    pub callee: String,
    /// When the call started, seconds since the Unix epoch (the year, and in the comment).
    pub start_epoch: Option<i64>,
}

/// Encoder settings.
///
/// ```
/// use recording::{EncodeOptions, Rate};
///
/// let options = EncodeOptions { rate: Rate::Cbr(32), ..EncodeOptions::default() };
/// assert_eq!(options.quality, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Bitrate (CBR) or quality (VBR). Default: CBR 32 kbit/s, plenty for 8 kHz telephony.
    pub rate: Rate,
    /// LAME's algorithm quality, 0 (best, slowest) to 9 (fastest). Default 7, LAME's "fast"
    /// setting, for throughput at call-center volumes (it encodes about 1.8 times as fast as 5
    /// on 8 kHz speech); choose 5 (the `lame` CLI's default) or lower when quality matters
    /// more than CPU.
    pub quality: u8,
    /// Channel mode. Default: keep.
    pub channels: Channels,
    /// ID3 tags, if any.
    pub tags: Option<Tags>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            rate: Rate::Cbr(32),
            quality: 7,
            channels: Channels::Keep,
            tags: None,
        }
    }
}

/// What a transcode produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    /// Length of the audio.
    pub duration: Duration,
    /// Size of the MP3.
    pub bytes: u64,
    /// SHA-256 of the MP3, lowercase hex.
    pub sha256: String,
    /// The nominal bitrate (CBR) or the average one (VBR), kbit/s.
    pub bitrate_kbps: u32,
    /// The WAV's layout, as read.
    pub input: WavLayout,
}

/// Transcodes `wav` into `mp3`, written as `<mp3>.part` and renamed when complete and synced:
/// `mp3` is a whole MP3 or absent, never half of one. On error the `.part` file is removed.
///
/// ```no_run
/// use recording::{transcode_file, EncodeOptions};
///
/// let done = transcode_file("call.wav".as_ref(), "call.mp3".as_ref(), &EncodeOptions::default())?;
/// println!("{} bytes, {:?}", done.bytes, done.duration);
/// # Ok::<(), recording::TranscodeError>(())
/// ```
pub fn transcode_file(
    wav: &Path,
    mp3: &Path,
    options: &EncodeOptions,
) -> Result<Transcoded, TranscodeError> {
    let mut part = mp3.as_os_str().to_owned();
    part.push(".part");
    let part = std::path::PathBuf::from(part);
    let written = File::open(wav)
        .map_err(TranscodeError::from)
        .and_then(|input| {
            let mut output = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&part)?;
            let done = transcode(input, &mut output, options)?;
            output.sync_all()?;
            Ok(done)
        });
    let done = written.inspect_err(|_| {
        let _ = std::fs::remove_file(&part);
    })?;
    std::fs::rename(&part, mp3)?;
    Ok(done)
}

/// Transcodes a WAV from `input` into `output`, which must be empty and seekable (the LAME tag
/// is written over the first frame at the end).
pub fn transcode<W: Write + Read + Seek>(
    mut input: File,
    output: &mut W,
    options: &EncodeOptions,
) -> Result<Transcoded, TranscodeError> {
    let file_len = input.metadata()?.len();
    let layout = read_layout(&mut input, file_len)?;
    let source = CanonicalWav::new(input, layout)?;
    let stream = MediaSourceStream::new(Box::new(source), Default::default());
    let mut reader =
        symphonia::default::formats::WavReader::try_new(stream, FormatOptions::default())
            .map_err(|e| TranscodeError::Decode(e.to_string()))?;
    let track = reader
        .tracks()
        .first()
        .ok_or_else(|| TranscodeError::Decode("no audio track".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| TranscodeError::Decode("no audio parameters".into()))?
        .clone();
    let mut decoder =
        symphonia::default::codecs::PcmDecoder::try_new(&params, &AudioDecoderOptions::default())
            .map_err(|e| TranscodeError::Decode(e.to_string()))?;
    let mut encoder = build_encoder(&layout, options)?;

    let mut samples: Vec<i16> = Vec::new();
    let mut mp3: Vec<u8> = Vec::new();
    let mut frames = 0u64;
    let mut written = 0u64;
    while let Some(packet) = reader
        .next_packet()
        .map_err(|e| TranscodeError::Decode(e.to_string()))?
    {
        let audio = decoder
            .decode(&packet)
            .map_err(|e| TranscodeError::Decode(e.to_string()))?;
        audio.copy_to_vec_interleaved(&mut samples);
        frames += audio.frames() as u64;
        mp3.clear();
        mp3.reserve(mp3lame_encoder::max_required_buffer_size(samples.len()));
        let encoded = if layout.channels == 1 {
            encoder.encode_to_vec(MonoPcm(&samples), &mut mp3)
        } else {
            encoder.encode_to_vec(InterleavedPcm(&samples), &mut mp3)
        };
        encoded.map_err(|e| TranscodeError::Encoder(e.to_string()))?;
        output.write_all(&mp3)?;
        written += mp3.len() as u64;
    }
    mp3.clear();
    mp3.reserve(7200);
    encoder
        .flush_to_vec::<FlushGap>(&mut mp3)
        .map_err(|e| TranscodeError::Encoder(e.to_string()))?;
    output.write_all(&mp3)?;
    written += mp3.len() as u64;
    // The LAME tag (encoder delay and padding, so decoders trim them) goes over the placeholder
    // frame LAME wrote first, right after the ID3v2 tag.
    if encoder.is_lame_tag_written() {
        mp3.clear();
        mp3.reserve(encoder.lame_tag_size());
        if encoder.lame_tag_encode_to_vec(&mut mp3).is_some() {
            output.seek(SeekFrom::Start(encoder.id3v2_tag_size() as u64))?;
            output.write_all(&mp3)?;
        }
    }
    output.flush()?;
    let sha256 = hash(output)?;
    let duration = Duration::from_secs_f64(frames as f64 / f64::from(layout.sample_rate));
    let bitrate_kbps = match options.rate {
        Rate::Cbr(kbps) => u32::from(kbps),
        Rate::Vbr(_) if frames > 0 => {
            (written as f64 * 8.0 / duration.as_secs_f64() / 1000.0).round() as u32
        }
        Rate::Vbr(_) => 0,
    };
    Ok(Transcoded {
        duration,
        bytes: written,
        sha256,
        bitrate_kbps,
        input: layout,
    })
}

/// Reads just enough of the file's start to find its layout.
fn read_layout(input: &mut File, file_len: u64) -> Result<WavLayout, TranscodeError> {
    let mut prefix = vec![0u8; 4096.min(file_len as usize)];
    input.read_exact(&mut prefix)?;
    loop {
        if let Some(layout) = WavLayout::parse(&prefix, file_len)? {
            return Ok(layout);
        }
        let more = (prefix.len() * 2).min(MAX_HEADER).min(file_len as usize);
        let start = prefix.len();
        prefix.resize(more, 0);
        input.read_exact(&mut prefix[start..])?;
    }
}

fn hash<R: Read + Seek>(file: &mut R) -> io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn build_encoder(
    layout: &WavLayout,
    options: &EncodeOptions,
) -> Result<mp3lame_encoder::Encoder, TranscodeError> {
    use mp3lame_encoder::{Mode, Quality};
    let error = |e: mp3lame_encoder::BuildError| TranscodeError::Encoder(e.to_string());
    let quality = |q: u8| match q {
        0 => Ok(Quality::Best),
        1 => Ok(Quality::SecondBest),
        2 => Ok(Quality::NearBest),
        3 => Ok(Quality::VeryNice),
        4 => Ok(Quality::Nice),
        5 => Ok(Quality::Good),
        6 => Ok(Quality::Decent),
        7 => Ok(Quality::Ok),
        8 => Ok(Quality::SecondWorst),
        9 => Ok(Quality::Worst),
        _ => Err(TranscodeError::Encoder(format!("quality {q} is not 0..=9"))),
    };
    let mut builder =
        Builder::new().ok_or_else(|| TranscodeError::Encoder("LAME could not allocate".into()))?;
    builder.set_sample_rate(layout.sample_rate).map_err(error)?;
    builder
        .set_num_channels(layout.channels as u8)
        .map_err(error)?;
    let mode = match (layout.channels, options.channels) {
        (1, _) | (_, Channels::Mono) => Mode::Mono,
        _ => Mode::JointStereo,
    };
    builder.set_mode(mode).map_err(error)?;
    builder
        .set_quality(quality(options.quality)?)
        .map_err(error)?;
    match options.rate {
        Rate::Cbr(kbps) => {
            builder.set_brate(bitrate(kbps)?).map_err(error)?;
            builder
                .set_vbr_mode(mp3lame_encoder::VbrMode::Off)
                .map_err(error)?;
        }
        Rate::Vbr(q) => {
            builder
                .set_vbr_mode(mp3lame_encoder::VbrMode::Mtrh)
                .map_err(error)?;
            builder.set_vbr_quality(quality(q)?).map_err(error)?;
        }
    }
    builder.set_to_write_vbr_tag(true).map_err(error)?;
    // The output keeps the input's rate: resampling telephony audio gains nothing.
    builder
        .set_output_sample_rate(std::num::NonZeroU32::new(layout.sample_rate))
        .map_err(error)?;
    if let Some(tags) = &options.tags {
        let year = tags
            .start_epoch
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.format("%Y").to_string())
            .unwrap_or_default();
        let start = tags
            .start_epoch
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let comment = format!(
            "call={} tenant={} caller={} callee={} start={}",
            tags.call_uuid, tags.tenant, tags.caller, tags.callee, start
        );
        builder
            .set_id3_tag(Id3Tag {
                title: tags.call_uuid.as_bytes(),
                artist: tags.caller.as_bytes(),
                album: tags.tenant.as_bytes(),
                album_art: &[],
                year: year.as_bytes(),
                comment: comment.as_bytes(),
            })
            .map_err(|e| TranscodeError::Encoder(format!("{e:?}")))?;
    }
    builder.build().map_err(error)
}

fn bitrate(kbps: u16) -> Result<mp3lame_encoder::Bitrate, TranscodeError> {
    use mp3lame_encoder::Bitrate::*;
    Ok(match kbps {
        8 => Kbps8,
        16 => Kbps16,
        24 => Kbps24,
        32 => Kbps32,
        40 => Kbps40,
        48 => Kbps48,
        64 => Kbps64,
        80 => Kbps80,
        96 => Kbps96,
        112 => Kbps112,
        128 => Kbps128,
        160 => Kbps160,
        192 => Kbps192,
        224 => Kbps224,
        256 => Kbps256,
        320 => Kbps320,
        _ => {
            return Err(TranscodeError::Encoder(format!(
                "{kbps} kbit/s is not an MP3 bitrate"
            )));
        }
    })
}

/// The WAV as symphonia should see it: a canonical 44-byte header with the true sizes, then the
/// file's whole frames. Other chunks and a damaged tail are left out.
struct CanonicalWav {
    header: [u8; 44],
    file: File,
    data_offset: u64,
    len: u64,
    position: u64,
}

impl CanonicalWav {
    fn new(file: File, layout: WavLayout) -> io::Result<Self> {
        Ok(CanonicalWav {
            header: layout.canonical_header(),
            file,
            data_offset: layout.data_offset,
            len: 44 + layout.data_len,
            position: 0,
        })
    }
}

impl Read for CanonicalWav {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position < 44 {
            let at = self.position as usize;
            let n = buf.len().min(44 - at);
            buf[..n].copy_from_slice(&self.header[at..at + n]);
            self.position += n as u64;
            return Ok(n);
        }
        let left = self.len.saturating_sub(self.position);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.file
            .seek(SeekFrom::Start(self.data_offset + self.position - 44))?;
        let n = self.file.read(&mut buf[..n])?;
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for CanonicalWav {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        self.position = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.position)
    }
}

impl MediaSource for CanonicalWav {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
