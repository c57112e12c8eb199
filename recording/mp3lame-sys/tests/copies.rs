//! Both copies of LAME (x86-64 baseline and x86-64-v3) encode the same tone to an MP3 that
//! decodes back to it, and the public functions run the copy this CPU should run.
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]

use mp3lame_sys::{lame_global_flags, MPEG_mode};
use std::os::raw::{c_int, c_short, c_uchar};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// The functions one copy of the library is called through.
struct Lame {
    init: unsafe extern "C" fn() -> *mut lame_global_flags,
    set_num_channels: unsafe extern "C" fn(*mut lame_global_flags, c_int) -> c_int,
    set_in_samplerate: unsafe extern "C" fn(*mut lame_global_flags, c_int) -> c_int,
    set_brate: unsafe extern "C" fn(*mut lame_global_flags, c_int) -> c_int,
    set_quality: unsafe extern "C" fn(*mut lame_global_flags, c_int) -> c_int,
    set_mode: unsafe extern "C" fn(*mut lame_global_flags, c_int) -> c_int,
    init_params: unsafe extern "C" fn(*mut lame_global_flags) -> c_int,
    encode_interleaved: unsafe extern "C" fn(
        *mut lame_global_flags,
        *mut c_short,
        c_int,
        *mut c_uchar,
        c_int,
    ) -> c_int,
    flush: unsafe extern "C" fn(*mut lame_global_flags, *mut c_uchar, c_int) -> c_int,
    close: unsafe extern "C" fn(*mut lame_global_flags) -> c_int,
}

/// Declares the functions of the copy whose symbols end in `__<suffix>`.
macro_rules! lame_copy {
    ($module:ident, $suffix:literal) => {
        mod $module {
            use mp3lame_sys::lame_global_flags;
            use std::os::raw::{c_int, c_short, c_uchar};
            unsafe extern "C" {
                #[link_name = concat!("lame_init__", $suffix)]
                pub fn lame_init() -> *mut lame_global_flags;
                #[link_name = concat!("lame_set_num_channels__", $suffix)]
                pub fn lame_set_num_channels(gfp: *mut lame_global_flags, n: c_int) -> c_int;
                #[link_name = concat!("lame_set_in_samplerate__", $suffix)]
                pub fn lame_set_in_samplerate(gfp: *mut lame_global_flags, n: c_int) -> c_int;
                #[link_name = concat!("lame_set_brate__", $suffix)]
                pub fn lame_set_brate(gfp: *mut lame_global_flags, n: c_int) -> c_int;
                #[link_name = concat!("lame_set_quality__", $suffix)]
                pub fn lame_set_quality(gfp: *mut lame_global_flags, n: c_int) -> c_int;
                #[link_name = concat!("lame_set_mode__", $suffix)]
                pub fn lame_set_mode(gfp: *mut lame_global_flags, n: c_int) -> c_int;
                #[link_name = concat!("lame_init_params__", $suffix)]
                pub fn lame_init_params(gfp: *mut lame_global_flags) -> c_int;
                #[link_name = concat!("lame_encode_buffer_interleaved__", $suffix)]
                pub fn lame_encode_buffer_interleaved(
                    gfp: *mut lame_global_flags,
                    pcm: *mut c_short,
                    samples: c_int,
                    mp3: *mut c_uchar,
                    size: c_int,
                ) -> c_int;
                #[link_name = concat!("lame_encode_flush__", $suffix)]
                pub fn lame_encode_flush(
                    gfp: *mut lame_global_flags,
                    mp3: *mut c_uchar,
                    size: c_int,
                ) -> c_int;
                #[link_name = concat!("lame_close__", $suffix)]
                pub fn lame_close(gfp: *mut lame_global_flags) -> c_int;
            }
        }
    };
}

lame_copy!(baseline, "baseline");
lame_copy!(x86_64_v3, "x86_64_v3");

/// `Lame` over the functions of one module of the bindings' shape.
macro_rules! lame {
    ($($path:ident)::+) => {
        Lame {
            init: $($path)::+::lame_init,
            set_num_channels: $($path)::+::lame_set_num_channels,
            set_in_samplerate: $($path)::+::lame_set_in_samplerate,
            set_brate: $($path)::+::lame_set_brate,
            set_quality: $($path)::+::lame_set_quality,
            set_mode: $($path)::+::lame_set_mode,
            init_params: $($path)::+::lame_init_params,
            encode_interleaved: $($path)::+::lame_encode_buffer_interleaved,
            flush: $($path)::+::lame_encode_flush,
            close: $($path)::+::lame_close,
        }
    };
}

const RATE: u32 = 8000;
const SECONDS: u32 = 3;

/// Three seconds of 8 kHz stereo: a 440 Hz tone on the left, 1 kHz at half the level on the
/// right.
fn tone() -> Vec<i16> {
    (0..RATE * SECONDS)
        .flat_map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let left = 12_000.0 * (std::f64::consts::TAU * 440.0 * t).sin();
            let right = 6_000.0 * (std::f64::consts::TAU * 1000.0 * t).sin();
            [left as i16, right as i16]
        })
        .collect()
}

/// `pcm` (interleaved stereo) encoded by `lame` at CBR 32 kbit/s, joint stereo, quality 5.
fn encode(lame: &Lame, pcm: &[i16]) -> Vec<u8> {
    let mut pcm = pcm.to_vec();
    let frames = c_int::try_from(pcm.len() / 2).unwrap();
    let mut mp3 = vec![0u8; pcm.len() * 2 + 7200];
    // SAFETY: the handle is used only between init and close, every buffer outlives the calls
    // that write it, and the sizes passed are the buffers' own.
    unsafe {
        let gfp = (lame.init)();
        assert!(!gfp.is_null());
        assert_eq!((lame.set_num_channels)(gfp, 2), 0);
        assert_eq!((lame.set_in_samplerate)(gfp, RATE as c_int), 0);
        assert_eq!((lame.set_brate)(gfp, 32), 0);
        assert_eq!((lame.set_quality)(gfp, 5), 0);
        assert_eq!((lame.set_mode)(gfp, MPEG_mode::JOINT_STEREO), 0);
        assert_eq!((lame.init_params)(gfp), 0);
        let size = c_int::try_from(mp3.len()).unwrap();
        let written =
            (lame.encode_interleaved)(gfp, pcm.as_mut_ptr(), frames, mp3.as_mut_ptr(), size);
        assert!(written >= 0, "encode: {written}");
        let written = written as usize;
        let rest = c_int::try_from(mp3.len() - written).unwrap();
        let flushed = (lame.flush)(gfp, mp3[written..].as_mut_ptr(), rest);
        assert!(flushed >= 0, "flush: {flushed}");
        assert_eq!((lame.close)(gfp), 0);
        mp3.truncate(written + flushed as usize);
    }
    mp3
}

/// The left and right channels' RMS levels of `mp3` decoded, and the frames decoded.
fn decoded_levels(mp3: Vec<u8>) -> (f64, f64, usize) {
    let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(mp3)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            source,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .expect("an MP3 stream");
    let track = format.default_track(TrackType::Audio).expect("a track");
    let id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .unwrap()
        .audio()
        .unwrap()
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .unwrap();
    let (mut left, mut right, mut frames) = (0.0, 0.0, 0usize);
    let mut samples: Vec<f32> = Vec::new();
    while let Some(packet) = format.next_packet().unwrap() {
        if packet.track_id != id {
            continue;
        }
        let audio = decoder.decode(&packet).unwrap();
        audio.copy_to_vec_interleaved(&mut samples);
        for pair in samples.chunks_exact(2) {
            left += f64::from(pair[0]).powi(2);
            right += f64::from(pair[1]).powi(2);
        }
        frames += samples.len() / 2;
    }
    let rms = |sum: f64| (sum / frames as f64).sqrt() * 32_768.0;
    (rms(left), rms(right), frames)
}

/// The copy's MP3 decodes to about the tone's length and levels (RMS 8,485 left, 4,243 right).
fn assert_decodes_to_the_tone(copy: &str, mp3: Vec<u8>) {
    let (left, right, frames) = decoded_levels(mp3);
    let expected = (RATE * SECONDS) as usize;
    assert!(
        (expected..expected + 4 * 576).contains(&frames),
        "{copy}: {frames} frames decoded"
    );
    assert!(
        (7_000.0..9_500.0).contains(&left),
        "{copy}: left RMS {left}"
    );
    assert!(
        (3_400.0..4_800.0).contains(&right),
        "{copy}: right RMS {right}"
    );
}

/// Whether this CPU runs x86-64-v3 code, as the start-up dispatch decides it.
fn has_x86_64_v3() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx")
        && has!("avx2")
        && has!("bmi1")
        && has!("bmi2")
        && has!("f16c")
        && has!("fma")
        && has!("lzcnt")
        && has!("movbe")
}

#[test]
fn the_baseline_copy_encodes_a_tone_that_decodes_back() {
    let mp3 = encode(&lame!(baseline), &tone());
    assert_decodes_to_the_tone("baseline", mp3);
}

#[test]
fn the_public_functions_run_the_copy_this_cpu_runs() {
    let pcm = tone();
    let public = encode(&lame!(mp3lame_sys), &pcm);
    let baseline = encode(&lame!(baseline), &pcm);
    if has_x86_64_v3() {
        let v3 = encode(&lame!(x86_64_v3), &pcm);
        assert_eq!(public, v3, "the public functions run the x86-64-v3 copy");
        assert_decodes_to_the_tone("x86-64-v3", v3);
    } else {
        assert_eq!(
            public, baseline,
            "the public functions run the baseline copy"
        );
    }
    // One CBR stream's length whatever the copy: the same frames, only their content differs.
    assert_eq!(public.len(), baseline.len());
}
