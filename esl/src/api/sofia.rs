//! `sofia profile <profile> ...`: the gateway (trunk) commands a platform needs to add, change
//! and remove trunks while FreeSWITCH runs.
//!
//! What FreeSWITCH does with them (mod_sofia): `rescan` re-reads the profile's configuration
//! and the gateways of its directory domains and *adds* the gateways it does not have; it
//! never changes nor removes one. `killgw` marks a gateway deleted at once (calls can no
//! longer use it) and the profile's worker unregisters and drops it within a few seconds. So a
//! changed trunk is `killgw`, then, once it is gone, `rescan`.

use super::value::write_word;
use super::{ApiCommand, ApiError, ApiFailure, check_result};

/// What to do on a sofia profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SofiaAction {
    /// `rescan`: add the gateways the profile does not have yet.
    Rescan,
    /// `killgw NAME`: remove a gateway (unregistering it first).
    KillGateway(String),
}

/// `sofia profile <profile> rescan|killgw <gateway>`.
///
/// ```
/// use esl::api::{ApiCommand, SofiaAction, SofiaProfile};
///
/// let rescan = SofiaProfile { profile: "external".into(), action: SofiaAction::Rescan };
/// assert_eq!(rescan.to_command()?, "sofia profile external rescan");
/// assert!(rescan.read_result("+OK scan complete\n".into()).is_ok());
/// assert!(rescan.read_result("Invalid Profile [external]\n".into()).is_err());
///
/// let kill = SofiaProfile {
///     profile: "external".into(),
///     action: SofiaAction::KillGateway("carrier-1".into()),
/// };
/// assert_eq!(kill.to_command()?, "sofia profile external killgw carrier-1");
/// assert!(kill.read_result("-ERR no such gateway.\n".into()).is_err());
///
/// let hostile = SofiaProfile {
///     profile: "external".into(),
///     action: SofiaAction::KillGateway("_all_ flush_inbound_reg".into()),
/// };
/// assert!(hostile.to_command().is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SofiaProfile {
    /// The profile (`external`, `internal`...).
    pub profile: String,
    /// What to do.
    pub action: SofiaAction,
}

/// Whether `name` can be a sofia profile's or gateway's name: 1 to 64 letters, digits, `_`,
/// `-` and `.` (FreeSWITCH puts a gateway's name into dial strings, after `sofia/gateway/`,
/// and into SIP Contact headers), and not `_all_`, which `killgw` reads as every gateway.
///
/// ```
/// assert!(esl::api::is_gateway_name("carrier-1.eu"));
/// assert!(!esl::api::is_gateway_name("_all_"));
/// assert!(!esl::api::is_gateway_name("a/b"));
/// assert!(!esl::api::is_gateway_name(""));
/// ```
pub fn is_gateway_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name != "_all_"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn write_gateway_name(out: &mut String, field: &'static str, name: &str) -> Result<(), ApiError> {
    if !is_gateway_name(name) {
        return Err(ApiError::NotAWord {
            field,
            value: name.chars().take(64).collect(),
        });
    }
    write_word(out, field, name)
}

impl ApiCommand for SofiaProfile {
    /// FreeSWITCH's reply.
    type Output = String;

    fn write_command(&self, out: &mut String) -> Result<(), ApiError> {
        out.push_str("sofia profile ");
        write_gateway_name(out, "profile", &self.profile)?;
        match &self.action {
            SofiaAction::Rescan => out.push_str(" rescan"),
            SofiaAction::KillGateway(gateway) => {
                out.push_str(" killgw ");
                write_gateway_name(out, "gateway", gateway)?;
            }
        }
        Ok(())
    }

    fn parse_result(&self, result: String) -> Result<String, ApiFailure> {
        // An unknown profile is answered without -ERR.
        if result.trim_start().starts_with("Invalid Profile") {
            return Err(ApiFailure::new(&result));
        }
        check_result(result)
    }
}
