//! The form FreeSWITCH POSTs, parsed into a typed request. Field names and values borrow from
//! the body unless they had to be decoded.

use std::borrow::Cow;

/// Limits on what a request may hold.
///
/// ```
/// let limits = xmlcurl::Limits::default().max_body(64 * 1024).max_fields(512);
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_body: usize,
    max_fields: usize,
}

impl Limits {
    /// Largest body accepted (default 1 MiB; FreeSWITCH's requests are a few KiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Most fields accepted (default 4096).
    pub fn max_fields(mut self, count: usize) -> Self {
        self.max_fields = count;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            max_fields: 4096,
        }
    }
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is larger than [`Limits::max_body`].
    #[error("request body of {size} bytes is larger than the {limit}-byte limit")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The body has more fields than [`Limits::max_fields`].
    #[error("request has more than {limit} fields")]
    TooManyFields {
        /// The limit in force.
        limit: usize,
    },
    /// There is no `section` field: this is not a mod_xml_curl request.
    #[error("request has no section field")]
    NoSection,
}

/// Which part of FreeSWITCH's configuration is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section<'a> {
    /// Users and domains (registration, calls to users, voicemail).
    Directory,
    /// Routing a call.
    Dialplan,
    /// A module's configuration file.
    Configuration,
    /// Phrases and sounds.
    Languages,
    /// Routing a chat message.
    Chatplan,
    /// Channel definitions.
    Channels,
    /// Anything else, kept as sent.
    Other(Cow<'a, str>),
}

impl<'a> Section<'a> {
    fn parse(name: Cow<'a, str>) -> Self {
        match &*name {
            "directory" => Self::Directory,
            "dialplan" => Self::Dialplan,
            "configuration" => Self::Configuration,
            "languages" => Self::Languages,
            "chatplan" => Self::Chatplan,
            "channels" => Self::Channels,
            _ => Self::Other(name),
        }
    }
}

/// One mod_xml_curl request.
///
/// ```
/// use xmlcurl::{Request, Section};
///
/// let body = b"hostname=fs1&section=dialplan&Caller-Context=default&Caller-Destination-Number=7777\
///              &Caller-Caller-ID-Number=1000&variable_tenant_id=42";
/// let request = Request::parse(body)?;
/// assert_eq!(request.section(), &Section::Dialplan);
/// let dialplan = request.dialplan().unwrap();
/// assert_eq!(dialplan.destination(), Some("7777"));
/// assert_eq!(dialplan.variable("tenant_id"), Some("42"));
/// # Ok::<(), xmlcurl::RequestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request<'a> {
    fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    section: Section<'a>,
}

impl<'a> Request<'a> {
    /// Parses a form body with the default [`Limits`].
    pub fn parse(body: &'a [u8]) -> Result<Self, RequestError> {
        Self::parse_with(body, Limits::default())
    }

    /// Parses a form body. Invalid UTF-8 is replaced, never an error; `+` is a space, as in any
    /// form.
    pub fn parse_with(body: &'a [u8], limits: Limits) -> Result<Self, RequestError> {
        if body.len() > limits.max_body {
            return Err(RequestError::TooLarge {
                size: body.len(),
                limit: limits.max_body,
            });
        }
        let mut fields = Vec::with_capacity(64);
        for pair in form_urlencoded::parse(body) {
            if fields.len() >= limits.max_fields {
                return Err(RequestError::TooManyFields {
                    limit: limits.max_fields,
                });
            }
            fields.push(pair);
        }
        let section = fields
            .iter()
            .find(|(name, _)| name == "section")
            .map(|(_, value)| Section::parse(value.clone()))
            .ok_or(RequestError::NoSection)?;
        Ok(Self { fields, section })
    }

    /// Copies every borrowed field, so the request can outlive the body.
    pub fn into_owned(self) -> Request<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        Request {
            fields: self
                .fields
                .into_iter()
                .map(|(n, v)| (own(n), own(v)))
                .collect(),
            section: match self.section {
                Section::Other(name) => Section::Other(own(name)),
                Section::Directory => Section::Directory,
                Section::Dialplan => Section::Dialplan,
                Section::Configuration => Section::Configuration,
                Section::Languages => Section::Languages,
                Section::Chatplan => Section::Chatplan,
                Section::Channels => Section::Channels,
            },
        }
    }

    /// The section asked for.
    pub fn section(&self) -> &Section<'a> {
        &self.section
    }

    /// The first field with this exact name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The FreeSWITCH host asking.
    pub fn hostname(&self) -> Option<&str> {
        self.field("hostname")
    }

    /// `tag_name`, e.g. `domain` or `configuration`.
    pub fn tag_name(&self) -> Option<&str> {
        self.field("tag_name")
    }

    /// `key_name`, e.g. `name`.
    pub fn key_name(&self) -> Option<&str> {
        self.field("key_name")
    }

    /// `key_value`, e.g. the domain or the configuration file's name.
    pub fn key_value(&self) -> Option<&str> {
        self.field("key_value")
    }

    /// The directory view, when the section is `directory`.
    pub fn directory(&self) -> Option<DirectoryRequest<'_, 'a>> {
        (self.section == Section::Directory).then_some(DirectoryRequest { request: self })
    }

    /// The dialplan view, when the section is `dialplan`.
    pub fn dialplan(&self) -> Option<DialplanRequest<'_, 'a>> {
        (self.section == Section::Dialplan).then_some(DialplanRequest { request: self })
    }

    /// The configuration file asked for (`callcenter.conf`...), when the section is
    /// `configuration`.
    pub fn configuration_file(&self) -> Option<&str> {
        (self.section == Section::Configuration)
            .then(|| self.key_value())
            .flatten()
    }
}

/// Why FreeSWITCH looks a user up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryAction<'r> {
    /// A SIP REGISTER or INVITE to authenticate (`sip_auth`).
    SipAuth,
    /// A call to the user (`user_call`).
    UserCall,
    /// Voicemail message counts (`message-count`).
    MessageCount,
    /// Reverse authentication (`reverse-auth-lookup`).
    ReverseAuthLookup,
    /// Voicemail looking up the box (`voicemail-lookup`).
    VoicemailLookup,
    /// Any other action, as sent.
    Other(&'r str),
}

/// The fields of a `directory` request.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryRequest<'r, 'a> {
    request: &'r Request<'a>,
}

impl<'r> DirectoryRequest<'r, '_> {
    /// `action`; absent for plain lookups such as `user_exists` or `user_data`.
    pub fn action(&self) -> Option<DirectoryAction<'r>> {
        Some(match self.request.field("action")? {
            "sip_auth" => DirectoryAction::SipAuth,
            "user_call" => DirectoryAction::UserCall,
            "message-count" => DirectoryAction::MessageCount,
            "reverse-auth-lookup" => DirectoryAction::ReverseAuthLookup,
            "voicemail-lookup" => DirectoryAction::VoicemailLookup,
            other => DirectoryAction::Other(other),
        })
    }

    /// `user`.
    pub fn user(&self) -> Option<&'r str> {
        self.request.field("user")
    }

    /// `domain`, or the domain being looked up (`key_value`).
    pub fn domain(&self) -> Option<&'r str> {
        self.request.field("domain").or(self.request.key_value())
    }

    /// `purpose`: `gateways`, `network-list`, `publish-vm`...
    pub fn purpose(&self) -> Option<&'r str> {
        self.request.field("purpose")
    }

    /// `profile`: the sofia profile asking, in a `purpose=gateways` lookup.
    pub fn profile(&self) -> Option<&'r str> {
        self.request.field("profile")
    }

    /// A `sip_auth_*` field: `sip_auth("realm")` reads `sip_auth_realm`.
    pub fn sip_auth(&self, name: &str) -> Option<&'r str> {
        self.request
            .fields
            .iter()
            .find(|(n, _)| n.strip_prefix("sip_auth_") == Some(name))
            .map(|(_, v)| &**v)
    }
}

/// The fields of a `dialplan` request.
#[derive(Debug, Clone, Copy)]
pub struct DialplanRequest<'r, 'a> {
    request: &'r Request<'a>,
}

impl<'r> DialplanRequest<'r, '_> {
    fn caller_or_hunt(&self, field: &str) -> Option<&'r str> {
        self.request
            .fields
            .iter()
            .find(|(n, _)| {
                n.strip_prefix("Caller-")
                    .or_else(|| n.strip_prefix("Hunt-"))
                    == Some(field)
            })
            .map(|(_, v)| &**v)
    }

    /// The dialplan context (`Caller-Context`).
    pub fn context(&self) -> Option<&'r str> {
        self.caller_or_hunt("Context")
    }

    /// The number dialled (`Caller-Destination-Number`).
    pub fn destination(&self) -> Option<&'r str> {
        self.caller_or_hunt("Destination-Number")
    }

    /// The caller's number (`Caller-Caller-ID-Number`).
    pub fn caller_id_number(&self) -> Option<&'r str> {
        self.caller_or_hunt("Caller-ID-Number")
    }

    /// The caller's name (`Caller-Caller-ID-Name`).
    pub fn caller_id_name(&self) -> Option<&'r str> {
        self.caller_or_hunt("Caller-ID-Name")
    }

    /// The channel's UUID (`Unique-ID`).
    pub fn unique_id(&self) -> Option<&'r str> {
        self.request
            .field("Unique-ID")
            .or_else(|| self.caller_or_hunt("Unique-ID"))
    }

    /// A channel variable: `variable("tenant_id")` reads `variable_tenant_id`.
    pub fn variable(&self, name: &str) -> Option<&'r str> {
        self.variables().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every channel variable, names without `variable_`.
    pub fn variables(&self) -> impl Iterator<Item = (&'r str, &'r str)> + use<'r> {
        self.request
            .fields
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("variable_")?, &**v)))
    }

    /// Every `Hunt-*` field, names without `Hunt-`.
    pub fn hunt(&self) -> impl Iterator<Item = (&'r str, &'r str)> + use<'r> {
        self.request
            .fields
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("Hunt-")?, &**v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_only_what_needs_decoding() {
        let request =
            Request::parse(b"section=directory&user=1000&Event-Date-Local=2026-11-21%2011%3A38")
                .unwrap();
        assert!(matches!(request.fields[1].1, Cow::Borrowed("1000")));
        assert_eq!(request.field("Event-Date-Local"), Some("2026-11-21 11:38"));
    }

    #[test]
    fn limits_and_missing_section_are_typed_errors() {
        let big = vec![b'a'; 100];
        assert_eq!(
            Request::parse_with(&big, Limits::default().max_body(10)).unwrap_err(),
            RequestError::TooLarge {
                size: 100,
                limit: 10
            }
        );
        assert_eq!(
            Request::parse_with(b"a=1&b=2&section=x", Limits::default().max_fields(2)).unwrap_err(),
            RequestError::TooManyFields { limit: 2 }
        );
        assert_eq!(
            Request::parse(b"user=1").unwrap_err(),
            RequestError::NoSection
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let request = Request::parse(b"section=directory&user=%FF%FE1000").unwrap();
        assert_eq!(
            request.directory().unwrap().user(),
            Some("\u{fffd}\u{fffd}1000")
        );
    }

    #[test]
    fn unknown_sections_are_kept() {
        let request = Request::parse(b"section=phrases").unwrap();
        assert_eq!(request.section(), &Section::Other("phrases".into()));
    }

    #[test]
    fn directory_fields() {
        let request = Request::parse(
            b"section=directory&action=sip_auth&sip_auth_username=1000&sip_auth_realm=example.com&user=1000&domain=example.com&purpose=gateways",
        )
        .unwrap();
        let directory = request.directory().unwrap();
        assert_eq!(directory.action(), Some(DirectoryAction::SipAuth));
        assert_eq!(directory.sip_auth("realm"), Some("example.com"));
        assert_eq!(directory.purpose(), Some("gateways"));
        assert!(request.dialplan().is_none());
    }
}
