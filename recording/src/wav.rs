//! The RIFF/WAVE header, read without I/O: where the samples are, in which format, and how many
//! of them a file of a given length really holds.
//!
//! A WAV whose writer died (FreeSWITCH killed mid-call) keeps the sizes it wrote at the start:
//! often 0, sometimes a stale value. [`WavLayout::parse`] trusts the file's length over them.

/// Why a WAV cannot be transcoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    /// Not a RIFF/WAVE file at all.
    #[error("not a RIFF/WAVE file")]
    NotWav,
    /// The header is damaged: a chunk runs out of the file, or the format chunk is malformed.
    #[error("corrupt WAV header: {0}")]
    Corrupt(&'static str),
    /// A valid WAV in an encoding other than 16-bit integer PCM (µ-law, A-law, float, ...).
    #[error("unsupported WAV encoding: format tag {format_tag:#06x}, {bits} bits")]
    UnsupportedEncoding {
        /// The `wFormatTag` (or the sub-format of an extensible WAV).
        format_tag: u16,
        /// Bits per sample.
        bits: u16,
    },
    /// 16-bit PCM, but with a channel count or sample rate we do not transcode.
    #[error("unsupported WAV layout: {channels} channels at {sample_rate} Hz")]
    UnsupportedLayout {
        /// Channels in the file.
        channels: u16,
        /// Samples per second.
        sample_rate: u32,
    },
    /// The header does not end within the first [`MAX_HEADER`] bytes.
    #[error("no data chunk within the first {MAX_HEADER} bytes")]
    HeaderTooLong,
}

/// How far into a file the `data` chunk may start: a bound on what a hostile file makes us read.
pub const MAX_HEADER: usize = 64 * 1024;

/// Sample rates `record_session` writes and LAME encodes without resampling surprises.
pub const SAMPLE_RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Where the samples of a 16-bit PCM WAV are, and how many a file of known length holds.
///
/// ```
/// use recording::wav::WavLayout;
///
/// // A 44-byte header from a writer that died before fixing its sizes (both 0).
/// let mut file = Vec::new();
/// file.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0");
/// file.extend_from_slice(&1u16.to_le_bytes()); // PCM
/// file.extend_from_slice(&1u16.to_le_bytes()); // mono
/// file.extend_from_slice(&8000u32.to_le_bytes());
/// file.extend_from_slice(&16000u32.to_le_bytes());
/// file.extend_from_slice(&2u16.to_le_bytes());
/// file.extend_from_slice(&16u16.to_le_bytes());
/// file.extend_from_slice(b"data\0\0\0\0");
/// file.extend_from_slice(&[0; 1600]); // 0.1 s of silence
///
/// let layout = WavLayout::parse(&file, file.len() as u64).unwrap().unwrap();
/// assert_eq!(layout.data_offset, 44);
/// assert_eq!(layout.data_len, 1600);
/// assert_eq!(layout.frames(), 800);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavLayout {
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// Byte offset of the first sample.
    pub data_offset: u64,
    /// Bytes of whole frames really present: the declared size when the file holds it, else
    /// what the file holds.
    pub data_len: u64,
    /// Whether the sizes in the header disagreed with the file (writer died, or file cut).
    pub repaired: bool,
}

impl WavLayout {
    /// Reads the header from the start of a file of `file_len` bytes. `Ok(None)` asks for more
    /// of the file (up to [`MAX_HEADER`] bytes); a truncated data chunk is not an error.
    pub fn parse(prefix: &[u8], file_len: u64) -> Result<Option<WavLayout>, WavError> {
        if prefix.len() < 12 {
            return if (prefix.len() as u64) < file_len.min(12) {
                Ok(None)
            } else {
                Err(WavError::NotWav)
            };
        }
        if &prefix[0..4] != b"RIFF" || &prefix[8..12] != b"WAVE" {
            return Err(WavError::NotWav);
        }
        let mut format = None;
        let mut at = 12usize;
        loop {
            if at + 8 > prefix.len() {
                return need_more(prefix, file_len, at + 8);
            }
            let id = &prefix[at..at + 4];
            let size = u32::from_le_bytes(prefix[at + 4..at + 8].try_into().expect("4 bytes"));
            let body = at + 8;
            if id == b"data" {
                let (sample_rate, channels) = format.ok_or(WavError::Corrupt(
                    "the data chunk comes before the format chunk",
                ))?;
                let frame = u64::from(channels) * 2;
                let available = file_len.saturating_sub(body as u64);
                let declared = u64::from(size);
                let usable = if declared == 0 || declared > available || size == u32::MAX {
                    available
                } else {
                    declared
                };
                let data_len = usable - usable % frame;
                let riff_size = u32::from_le_bytes(prefix[4..8].try_into().expect("4 bytes"));
                let repaired = declared != data_len
                    || u64::from(riff_size) != body as u64 - 8 + declared + declared % 2;
                return Ok(Some(WavLayout {
                    sample_rate,
                    channels,
                    data_offset: body as u64,
                    data_len,
                    repaired,
                }));
            }
            // Every other chunk is read whole (only `fmt ` matters) or skipped; chunks are
            // padded to an even size.
            let end = body as u64 + u64::from(size) + u64::from(size % 2);
            if end > file_len {
                return Err(WavError::Corrupt("a chunk runs past the end of the file"));
            }
            if id == b"fmt " {
                let end = end as usize;
                if end > prefix.len() {
                    return need_more(prefix, file_len, end);
                }
                format = Some(parse_format(&prefix[body..body + size as usize])?);
            }
            at = usize::try_from(end).map_err(|_| WavError::HeaderTooLong)?;
            if at >= MAX_HEADER {
                return Err(WavError::HeaderTooLong);
            }
        }
    }

    /// Frames (one sample per channel) in the data chunk.
    pub fn frames(&self) -> u64 {
        self.data_len / (u64::from(self.channels) * 2)
    }

    /// The audio's length.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.frames() as f64 / f64::from(self.sample_rate))
    }

    /// A canonical 44-byte header for this layout, sizes included: what the file's own header
    /// would be had its writer finished.
    pub fn canonical_header(&self) -> [u8; 44] {
        let data_len = u32::try_from(self.data_len).unwrap_or(u32::MAX - 36);
        let block_align = self.channels * 2;
        let mut header = [0u8; 44];
        header[0..4].copy_from_slice(b"RIFF");
        header[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
        header[8..16].copy_from_slice(b"WAVEfmt ");
        header[16..20].copy_from_slice(&16u32.to_le_bytes());
        header[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
        header[22..24].copy_from_slice(&self.channels.to_le_bytes());
        header[24..28].copy_from_slice(&self.sample_rate.to_le_bytes());
        header[28..32].copy_from_slice(&(self.sample_rate * u32::from(block_align)).to_le_bytes());
        header[32..34].copy_from_slice(&block_align.to_le_bytes());
        header[34..36].copy_from_slice(&16u16.to_le_bytes());
        header[36..40].copy_from_slice(b"data");
        header[40..44].copy_from_slice(&data_len.to_le_bytes());
        header
    }
}

fn need_more(prefix: &[u8], file_len: u64, wanted: usize) -> Result<Option<WavLayout>, WavError> {
    if wanted > MAX_HEADER {
        Err(WavError::HeaderTooLong)
    } else if (prefix.len() as u64) < file_len {
        Ok(None)
    } else {
        Err(WavError::Corrupt("the file ends inside its header"))
    }
}

/// (sample rate, channels) of a 16-bit PCM format chunk.
fn parse_format(chunk: &[u8]) -> Result<(u32, u16), WavError> {
    if chunk.len() < 16 {
        return Err(WavError::Corrupt("format chunk shorter than 16 bytes"));
    }
    let u16_at = |at: usize| u16::from_le_bytes([chunk[at], chunk[at + 1]]);
    let mut format_tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes(chunk[4..8].try_into().expect("4 bytes"));
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if format_tag == FORMAT_EXTENSIBLE {
        // The real format is the first two bytes of the sub-format GUID.
        if chunk.len() < 26 {
            return Err(WavError::Corrupt("extensible format chunk too short"));
        }
        format_tag = u16_at(24);
    }
    if format_tag != FORMAT_PCM || bits != 16 {
        return Err(WavError::UnsupportedEncoding { format_tag, bits });
    }
    if !(1..=2).contains(&channels) || !SAMPLE_RATES.contains(&sample_rate) {
        return Err(WavError::UnsupportedLayout {
            channels,
            sample_rate,
        });
    }
    if block_align != channels * 2 {
        return Err(WavError::Corrupt(
            "block alignment does not match the channels",
        ));
    }
    Ok((sample_rate, channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(format_tag: u16, channels: u16, rate: u32, bits: u16, data_size: u32) -> Vec<u8> {
        let mut file = Vec::new();
        file.extend_from_slice(b"RIFF");
        file.extend_from_slice(&(36 + data_size).to_le_bytes());
        file.extend_from_slice(b"WAVEfmt ");
        file.extend_from_slice(&16u32.to_le_bytes());
        file.extend_from_slice(&format_tag.to_le_bytes());
        file.extend_from_slice(&channels.to_le_bytes());
        file.extend_from_slice(&rate.to_le_bytes());
        let align = channels * bits / 8;
        file.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        file.extend_from_slice(&align.to_le_bytes());
        file.extend_from_slice(&bits.to_le_bytes());
        file.extend_from_slice(b"data");
        file.extend_from_slice(&data_size.to_le_bytes());
        file
    }

    #[test]
    fn declared_sizes_are_kept_when_the_file_holds_them() {
        let mut file = header(1, 2, 16_000, 16, 400);
        file.resize(44 + 400, 0);
        let layout = WavLayout::parse(&file, file.len() as u64).unwrap().unwrap();
        assert_eq!((layout.data_len, layout.repaired), (400, false));
        assert_eq!(layout.frames(), 100);
        assert_eq!(&layout.canonical_header()[..], &file[..44]);
    }

    #[test]
    fn stale_sizes_give_way_to_the_file_length() {
        let file = header(1, 2, 8_000, 16, 1_000_000);
        // 103 bytes of samples: 25 whole stereo frames.
        let layout = WavLayout::parse(&file, 44 + 103).unwrap().unwrap();
        assert_eq!((layout.data_len, layout.repaired), (100, true));
    }

    #[test]
    fn encodings_other_than_16_bit_pcm_are_refused() {
        for (tag, bits) in [(7u16, 8u16), (6, 8), (3, 32), (1, 24), (1, 8)] {
            let file = header(tag, 1, 8_000, bits, 0);
            assert_eq!(
                WavLayout::parse(&file, 44),
                Err(WavError::UnsupportedEncoding {
                    format_tag: tag,
                    bits
                })
            );
        }
        let file = header(1, 3, 8_000, 16, 0);
        assert!(matches!(
            WavLayout::parse(&file, 44),
            Err(WavError::UnsupportedLayout { channels: 3, .. })
        ));
    }

    #[test]
    fn damaged_headers_are_errors_not_panics() {
        assert_eq!(WavLayout::parse(b"RIFX", 4), Err(WavError::NotWav));
        assert_eq!(WavLayout::parse(b"RIFF\0\0\0\0WAVE", 100), Ok(None));
        let file = header(1, 1, 8_000, 16, 0);
        assert!(matches!(
            WavLayout::parse(&file[..30], 30),
            Err(WavError::Corrupt(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), extra in 0u64..1000) {
            let _ = WavLayout::parse(&bytes, bytes.len() as u64 + extra);
            let _ = WavLayout::parse(&bytes, bytes.len() as u64);
        }
    }
}
