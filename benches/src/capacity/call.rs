//! One call as FreeSWITCH presents it to the platform, cut from the real captures: the
//! directory lookup of the caller's extension and the dialplan lookup (mod_xml_curl's POSTs),
//! the captured loopback call's ESL events split where the call hangs up, and the CDRs of the
//! captured call through the trunk (`json_cdr_bridged/`): the leg that ran the tenant's
//! dialplan and the trunk leg, the two a phone's call posts, with a raw JSON body
//! (`encode=false`, as `examples/deploy/json_cdr.conf.xml` ships; that capture's values are
//! URL-encoded, the only bridged capture with a JSON body). The events' two channels and the
//! CDRs' two legs share the call's UUIDs; every call gets UUIDs of its own, and the captures'
//! context becomes the tenant's.

use bytes::Bytes;
use tests::node::event_frames;

/// The capture's legs: the originating loopback leg and the leg that ran the dialplan (and
/// recorded: `Record-File-Path` ends in its UUID).
const A_LEG: &str = "ed22627b-4a74-4b96-b832-34a59357db96";
const B_LEG: &str = "de9d1a63-359d-4c70-9c3e-368107efbe3c";
/// The call of the captured dialplan lookup.
const LOOKUP_CALL: &str = "5fb64482-cf92-420a-8fa8-de69f86686d9";
/// The captured bridged call's legs: the one that ran the dialplan (inbound), the trunk leg
/// (outbound, charged), and the loopback twin standing in for the phone (not posted here).
const CDR_DIALPLAN_LEG: &str = "c321b0d6-6591-4ef4-8cd4-b6de76f67836";
const CDR_TRUNK_LEG: &str = "8a0a19ce-0a35-4e0f-bac7-75b36524a4f3";
const CDR_PHONE_LEG: &str = "12646938-bf44-4f20-90ef-8e5de52937ab";
const CDRS: &str = "json_cdr_bridged/enc_false_values_true";
/// The captured lookups' destination and domain.
const CAPTURED_DESTINATION: &str = "7777";
const CAPTURED_DOMAIN: &str = "127.0.0.1";
/// Where the capture's FreeSWITCH staged recordings (`freeswitch_recordings_dir`).
pub const FREESWITCH_STAGING: &str = "/srv/rec-staging";

/// A run's UUIDs: call `k`, leg `i`, and a tail unique to the run (so objects of an earlier
/// run in the same bucket never count for this one).
#[derive(Debug, Clone, Copy)]
pub struct Uuids {
    run: u64,
}

impl Uuids {
    /// UUIDs for a run told apart by `run`.
    pub fn new(run: u64) -> Self {
        Uuids { run }
    }

    /// Leg `i` (0: the A leg, 1: the B leg) of call `k`.
    pub fn leg(&self, k: usize, i: usize) -> String {
        format!(
            "{k:08x}-{i:04x}-4{:03x}-8{:03x}-{:012x}",
            (self.run >> 52) & 0xfff,
            (self.run >> 40) & 0xfff,
            self.run & 0xff_ffff_ffff
        )
    }

    /// The tail every UUID of the run ends with (for SQL `LIKE`).
    pub fn tail(&self) -> String {
        self.leg(0, 0)[13..].to_owned()
    }

    /// The call and leg of a UUID of this run.
    pub fn parse(&self, uuid: &str) -> Option<(usize, usize)> {
        if uuid.get(13..36)? != self.tail() {
            return None;
        }
        let k = usize::from_str_radix(uuid.get(..8)?, 16).ok()?;
        let i = usize::from_str_radix(uuid.get(9..13)?, 16).ok()?;
        Some((k, i))
    }
}

/// One event frame's body (plain headers) and whether it is a recording event.
#[derive(Debug, Clone)]
struct Frame {
    name: String,
    body: String,
    recording: bool,
}

/// The captures, ready to be stamped per call.
#[derive(Debug, Clone)]
pub struct CallTemplate {
    setup: Vec<Frame>,
    end: Vec<Frame>,
    directory: String,
    dialplan: String,
    cdrs: [String; 2],
    context: String,
    domain: String,
    destination: String,
}

/// What one call sends, its UUIDs stamped in.
#[derive(Debug, Clone)]
pub struct CallTraffic {
    /// mod_xml_curl's directory lookup body.
    pub directory: String,
    /// mod_xml_curl's dialplan lookup body.
    pub dialplan: String,
    /// The events up to the answer and the recording's start, framed for the wire.
    pub setup: Bytes,
    /// The events from the hang-up on (the recording's stop among them).
    pub end: Bytes,
    /// mod_json_cdr's posts: the dialplan leg's (B) and the trunk leg's (A).
    pub cdrs: [String; 2],
    /// The recording's path under the staging directory (`rec/mono_<B leg>.wav`).
    pub wav: String,
}

fn body_of(http: &str) -> &str {
    http.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

impl CallTemplate {
    /// Reads the captures from `fixtures/freeswitch/`; calls go to `destination` in tenant
    /// `context` on SIP domain `domain`.
    pub fn load(context: &str, domain: &str, destination: &str) -> Self {
        let read = |path: &str| {
            std::fs::read_to_string(tests::fixture(path))
                .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
        };
        let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).expect("esl-plain.raw");
        let mut setup = Vec::new();
        let mut end = Vec::new();
        for frame in event_frames(&capture) {
            let text = String::from_utf8(frame.bytes.to_vec()).expect("plain events are text");
            let body = text.split_once("\n\n").map_or("", |(_, b)| b).to_owned();
            let ours = body.contains(&format!("Unique-ID: {A_LEG}\n"))
                || body.contains(&format!("Unique-ID: {B_LEG}\n"));
            let wanted = frame.name.starts_with("CHANNEL_") && frame.name != "CHANNEL_UUID"
                || frame.name.starts_with("RECORD_");
            if !ours || !wanted {
                continue;
            }
            let recording = frame.name.starts_with("RECORD_");
            let name = frame.name.clone();
            if end.is_empty() && frame.name != "CHANNEL_HANGUP" {
                setup.push(Frame {
                    name,
                    body,
                    recording,
                });
            } else {
                end.push(Frame {
                    name,
                    body,
                    recording,
                });
            }
        }
        assert!(
            setup.iter().any(|f| f.recording) && end.iter().any(|f| f.recording),
            "the capture records the call"
        );
        CallTemplate {
            setup,
            end,
            directory: body_of(&read("xml_curl/002_fsapi_directory.http")).to_owned(),
            dialplan: body_of(&read("xml_curl/005_fsapi_dialplan.http")).to_owned(),
            cdrs: [
                body_of(&read(&format!("{CDRS}/003.http"))).to_owned(),
                body_of(&read(&format!("{CDRS}/002.http"))).to_owned(),
            ],
            context: context.to_owned(),
            domain: domain.to_owned(),
            destination: destination.to_owned(),
        }
    }

    /// Keeps only the events a client subscribed to with `command` (`event plain NAME...`,
    /// as the node logged it): FreeSWITCH sends nothing else.
    pub fn subscribed(mut self, command: &str) -> Self {
        let names: Vec<&str> = command.split_whitespace().skip(2).collect();
        if !names.contains(&"ALL") {
            self.setup.retain(|f| names.contains(&f.name.as_str()));
            self.end.retain(|f| names.contains(&f.name.as_str()));
        }
        self
    }

    /// Call `k`'s traffic; without `recorded`, no recording events and no WAV.
    pub fn call(&self, uuids: &Uuids, k: usize, recorded: bool) -> CallTraffic {
        let (a, b, phone) = (uuids.leg(k, 0), uuids.leg(k, 1), uuids.leg(k, 2));
        let cdr = |body: &str| {
            body.replace(CDR_DIALPLAN_LEG, &b)
                .replace(CDR_TRUNK_LEG, &a)
                .replace(CDR_PHONE_LEG, &phone)
        };
        let frames = |frames: &[Frame]| {
            let mut wire = Vec::new();
            for frame in frames.iter().filter(|f| recorded || !f.recording) {
                let body = frame.body.replace(A_LEG, &a).replace(B_LEG, &b).replace(
                    "Caller-Context: default\n",
                    &format!("Caller-Context: {}\n", self.context),
                );
                wire.extend_from_slice(
                    format!(
                        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                wire.extend_from_slice(body.as_bytes());
            }
            Bytes::from(wire)
        };
        let context = format!("Context={}", self.context);
        CallTraffic {
            directory: self.directory.replace(CAPTURED_DOMAIN, &self.domain),
            dialplan: self
                .dialplan
                .replace(LOOKUP_CALL, &b)
                .replace("Context=default", &context)
                .replace(CAPTURED_DESTINATION, &self.destination),
            setup: frames(&self.setup),
            end: frames(&self.end),
            cdrs: [cdr(&self.cdrs[0]), cdr(&self.cdrs[1])],
            wav: format!("rec/mono_{b}.wav"),
        }
    }
}

#[cfg(test)]
mod tests_of_calls {
    use super::*;

    #[test]
    fn every_call_has_its_own_uuids_and_keeps_frames_whole() {
        let uuids = Uuids::new(0x0123_4567_89ab_cdef);
        assert_eq!(uuids.leg(5, 1).len(), 36);
        assert_eq!(uuids.parse(&uuids.leg(5, 1)), Some((5, 1)));
        assert_eq!(Uuids::new(7).parse(&uuids.leg(5, 1)), None);
        let template = CallTemplate::load("demo", "demo.local", "0901234567");
        let call = template.call(&uuids, 3, true);
        let text = String::from_utf8(call.end.to_vec()).unwrap();
        assert!(text.contains(&format!("Record-File-Path: {FREESWITCH_STAGING}/rec/mono_")));
        assert!(text.contains(&call.wav));
        assert!(!text.contains(A_LEG) && !text.contains(B_LEG));
        // Every frame's length is its body's.
        let frames = event_frames(&[call.setup.as_ref(), call.end.as_ref()].concat());
        assert_eq!(
            frames.len(),
            template.setup.len() + template.end.len(),
            "every frame parses"
        );
        assert!(call.dialplan.contains("Hunt-Context=demo"));
        assert!(call.dialplan.contains("Hunt-Destination-Number=0901234567"));
        assert!(call.directory.contains("domain=demo.local"));
        assert!(call.cdrs[0].contains(&format!("\"uuid\":\"{}\"", uuids.leg(3, 1))));
        assert!(call.cdrs[1].contains(&format!("\"uuid\":\"{}\"", uuids.leg(3, 0))));
        assert!(!call.cdrs.iter().any(|c| c.contains(CDR_PHONE_LEG)));
        let fewer = template
            .clone()
            .subscribed("event plain CHANNEL_CREATE RECORD_STOP");
        let frames = event_frames(&[fewer.call(&uuids, 3, true).setup.as_ref()].concat());
        assert!(!frames.is_empty() && frames.iter().all(|f| f.name == "CHANNEL_CREATE"));
        let unrecorded = template.call(&uuids, 3, false);
        assert!(!String::from_utf8_lossy(&unrecorded.end).contains("RECORD_STOP"));
    }
}
