//! The channel variables the platform sets (through the directory, the dialplan and originate)
//! and reads back (from events and CDRs), named in one place.
//!
//! The tenant's variable is configurable (`cdr.tenant_variable`, `tenant_id` by default): every
//! role takes its name from one [`ChannelVariables`], so that directory answers, click-to-call,
//! live calls and CDRs always agree on a call's tenant.

use std::fmt;
use std::sync::Arc;

/// The names of the platform's channel variables. Cheap to clone.
///
/// ```
/// use platform::variables::ChannelVariables;
///
/// let variables = ChannelVariables::new("acme_tenant");
/// assert_eq!(variables.tenant(), "acme_tenant");
/// assert_eq!(ChannelVariables::default().tenant(), "tenant_id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelVariables {
    tenant: Arc<str>,
}

impl Default for ChannelVariables {
    fn default() -> Self {
        ChannelVariables::new(Self::DEFAULT_TENANT)
    }
}

impl ChannelVariables {
    /// The tenant variable's name unless configured otherwise.
    pub const DEFAULT_TENANT: &'static str = "tenant_id";
    /// Set (exported to both legs) by our dialplan on a prepaid call it limited, to the
    /// seconds allowed: the ESL worker leaves such calls alone.
    pub const LIMIT: &'static str = "callcenter_limit";
    /// Set by our dialplan on the leg that reaches the outside (exported `nolocal:`, so only
    /// the trunk leg has it), to the call's prepaid hold ([`HoldReference`]): the ESL worker
    /// extends that hold, slice by slice, while the leg is up.
    pub const HOLD: &'static str = "callcenter_hold";
    /// Set by our dialplan on a call from a trunk to one of the platform's DIDs: the DID. In
    /// its tenant's context such a call reaches users, queues and menus, and an outside
    /// number only when it is that DID's own outside route (a route left pointing at a
    /// removed extension, or an IVR entry, never turns it into an outside call).
    pub const INBOUND_DID: &'static str = "callcenter_did";
    /// Set by click-to-call on the call it originates: the API user who placed it.
    pub const CLICK_TO_CALL: &'static str = "callcenter_click_to_call";
    /// Set by the directory on users whose calls are recorded.
    pub const RECORD_CALLS: &'static str = "record_calls";
    /// Set by the directory: the dialplan context of the user's calls.
    pub const USER_CONTEXT: &'static str = "user_context";

    /// The variables, with the tenant's named `tenant`.
    pub fn new(tenant: &str) -> Self {
        ChannelVariables {
            tenant: Arc::from(tenant),
        }
    }

    /// The name of the variable naming a call's tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// How CDRs are read with these variables (their tenant's variable).
    ///
    /// ```
    /// use platform::variables::ChannelVariables;
    ///
    /// let options = ChannelVariables::new("acme_tenant").cdr_options();
    /// assert_eq!(options.tenant_variable, "acme_tenant");
    /// ```
    pub fn cdr_options(&self) -> billing::CdrOptions {
        billing::CdrOptions {
            tenant_variable: self.tenant().to_owned(),
        }
    }
}

/// The value of [`ChannelVariables::HOLD`]: a prepaid hold's id and when it was taken
/// (`<id>-<Unix µs>`), which together name it even after a database crash gave its id to
/// another hold (`billing::HoldKey`). A value of an id alone, as earlier versions set it,
/// names the hold by its id.
///
/// ```
/// use platform::variables::HoldReference;
///
/// let hold = HoldReference { id: 42, created_us: Some(1_700_000_000_123_456) };
/// assert_eq!(hold.to_string(), "42-1700000000123456");
/// assert_eq!(HoldReference::parse("42-1700000000123456"), Some(hold));
/// assert_eq!(HoldReference::parse("42"), Some(HoldReference { id: 42, created_us: None }));
/// assert_eq!(HoldReference::parse("42-"), None);
/// assert_eq!(HoldReference::parse("x"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldReference {
    /// The hold's id in the ledger.
    pub id: i64,
    /// When it was taken, Unix microseconds (absent in an earlier version's value).
    pub created_us: Option<i64>,
}

impl HoldReference {
    /// The reference a variable's value holds, if it is one.
    pub fn parse(value: &str) -> Option<Self> {
        let (id, created_us) = match value.split_once('-') {
            Some((id, created)) => (id, Some(created.parse().ok()?)),
            None => (value, None),
        };
        Some(HoldReference {
            id: id.parse().ok()?,
            created_us,
        })
    }
}

impl fmt::Display for HoldReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.created_us {
            Some(created_us) => write!(f, "{}-{created_us}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}
