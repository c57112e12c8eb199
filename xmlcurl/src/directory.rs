//! The `directory` section: domains, groups and users with their params, variables and
//! gateways.

use crate::document::Document;
use crate::writer::XmlWriter;
use md5::{Digest, Md5};
use std::borrow::Cow;

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `md5(user:realm:password)` in hex: the `a1-hash` FreeSWITCH accepts instead of a password,
/// so the password itself need not be stored or sent.
///
/// ```
/// assert_eq!(
///     xmlcurl::a1_hash("1000", "example.com", "secret"),
///     "3c95c08f39ec8750494dd758dafd0827"
/// );
/// ```
pub fn a1_hash(user: &str, realm: &str, password: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(user.as_bytes());
    md5.update(b":");
    md5.update(realm.as_bytes());
    md5.update(b":");
    md5.update(password.as_bytes());
    let digest = md5.finalize();
    let mut hex = String::with_capacity(32);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

/// A `directory` document.
///
/// ```
/// use xmlcurl::{Directory, Document, Domain, Group, User};
///
/// let xml = Directory::new()
///     .domain(
///         Domain::new("example.com")
///             .param("dial-string", "{presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(${dialed_user}@${dialed_domain})}")
///             .group(Group::new("default").user(
///                 User::new("1000")
///                     .a1_hash("1000", "example.com", "s3cret")
///                     .variable("user_context", "default")
///                     .variable("effective_caller_id_name", "Alice <Sales>")
///                     .cacheable_ms(60_000),
///             )),
///     )
///     .to_xml();
/// let text = String::from_utf8(xml).unwrap();
/// assert!(text.contains(r#"<user id="1000" cacheable="60000">"#));
/// assert!(text.contains("Alice &lt;Sales&gt;"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Directory<'a> {
    domains: Vec<Domain<'a>>,
}

impl<'a> Directory<'a> {
    /// An empty directory section.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a domain.
    pub fn domain(mut self, domain: Domain<'a>) -> Self {
        self.domains.push(domain);
        self
    }
}

impl Document for Directory<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        let mut w = XmlWriter::document(out);
        w.start("section").attr("name", "directory").open_end();
        for domain in &self.domains {
            domain.write(&mut w);
        }
        w.close("section");
        w.finish();
    }
}

/// A `<domain>`: one per tenant, typically.
#[derive(Debug, Clone)]
pub struct Domain<'a> {
    name: Cow<'a, str>,
    params: Pairs<'a>,
    variables: Pairs<'a>,
    groups: Vec<Group<'a>>,
    users: Vec<User<'a>>,
}

impl<'a> Domain<'a> {
    /// A domain by name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
            variables: Vec::new(),
            groups: Vec::new(),
            users: Vec::new(),
        }
    }

    /// A domain `<param>` (e.g. `dial-string`), inherited by its users.
    pub fn param(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// A domain `<variable>`, inherited by its users.
    pub fn variable(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    /// A group of users.
    pub fn group(mut self, group: Group<'a>) -> Self {
        self.groups.push(group);
        self
    }

    /// A user outside any group.
    pub fn user(mut self, user: User<'a>) -> Self {
        self.users.push(user);
        self
    }

    fn write(&self, w: &mut XmlWriter<'_>) {
        w.start("domain").attr("name", &self.name).open_end();
        w.pairs("params", "param", &self.params);
        w.pairs("variables", "variable", &self.variables);
        if !self.groups.is_empty() {
            w.open("groups");
            for group in &self.groups {
                group.write(w);
            }
            w.close("groups");
        }
        write_users(w, &self.users);
        w.close("domain");
    }
}

fn write_users(w: &mut XmlWriter<'_>, users: &[User<'_>]) {
    if users.is_empty() {
        return;
    }
    w.open("users");
    for user in users {
        user.write(w);
    }
    w.close("users");
}

/// A `<group>` of users (call groups, `group_call`).
#[derive(Debug, Clone)]
pub struct Group<'a> {
    name: Cow<'a, str>,
    users: Vec<User<'a>>,
}

impl<'a> Group<'a> {
    /// A group by name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            users: Vec::new(),
        }
    }

    /// A member: a full user, or [`User::pointer`] to one defined elsewhere in the domain.
    pub fn user(mut self, user: User<'a>) -> Self {
        self.users.push(user);
        self
    }

    fn write(&self, w: &mut XmlWriter<'_>) {
        w.start("group").attr("name", &self.name).open_end();
        write_users(w, &self.users);
        w.close("group");
    }
}

/// A `<user>`.
#[derive(Debug, Clone)]
pub struct User<'a> {
    id: Cow<'a, str>,
    pointer: bool,
    cacheable_ms: Option<u64>,
    number_alias: Option<Cow<'a, str>>,
    params: Pairs<'a>,
    variables: Pairs<'a>,
    gateways: Vec<Gateway<'a>>,
}

impl<'a> User<'a> {
    /// A user by id (the extension, e.g. `1000`).
    pub fn new(id: impl Into<Cow<'a, str>>) -> Self {
        Self {
            id: id.into(),
            pointer: false,
            cacheable_ms: None,
            number_alias: None,
            params: Vec::new(),
            variables: Vec::new(),
            gateways: Vec::new(),
        }
    }

    /// A group member defined elsewhere in the domain (`type="pointer"`).
    pub fn pointer(id: impl Into<Cow<'a, str>>) -> Self {
        let mut user = Self::new(id);
        user.pointer = true;
        user
    }

    /// The SIP password (`<param name="password">`).
    pub fn password(self, password: impl Into<Cow<'a, str>>) -> Self {
        self.param("password", password)
    }

    /// `<param name="a1-hash">`, computed with [`a1_hash`]: no password in the document.
    pub fn a1_hash(self, user: &str, realm: &str, password: &str) -> Self {
        self.param("a1-hash", a1_hash(user, realm, password))
    }

    /// Any user `<param>` (`vm-password`, `dial-string`...).
    pub fn param(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// A user `<variable>` (`user_context`, `accountcode`, `effective_caller_id_name`...).
    pub fn variable(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        // Users usually carry several variables: one allocation rather than growing twice.
        if self.variables.capacity() == 0 {
            self.variables.reserve(8);
        }
        self.variables.push((name.into(), value.into()));
        self
    }

    /// `number-alias`: another number that reaches this user.
    pub fn number_alias(mut self, alias: impl Into<Cow<'a, str>>) -> Self {
        self.number_alias = Some(alias.into());
        self
    }

    /// `cacheable`: FreeSWITCH may keep this user for so many milliseconds.
    pub fn cacheable_ms(mut self, ms: u64) -> Self {
        self.cacheable_ms = Some(ms);
        self
    }

    /// A gateway (sofia asks with `purpose=gateways`).
    pub fn gateway(mut self, gateway: Gateway<'a>) -> Self {
        self.gateways.push(gateway);
        self
    }

    fn write(&self, w: &mut XmlWriter<'_>) {
        w.start("user").attr("id", &self.id);
        if self.pointer {
            w.attr("type", "pointer");
        }
        if let Some(ms) = self.cacheable_ms {
            w.attr_num("cacheable", ms);
        }
        w.attr_opt("number-alias", self.number_alias.as_deref());
        if self.params.is_empty() && self.variables.is_empty() && self.gateways.is_empty() {
            w.empty_end();
            return;
        }
        w.open_end();
        w.pairs("params", "param", &self.params);
        w.pairs("variables", "variable", &self.variables);
        if !self.gateways.is_empty() {
            w.open("gateways");
            for gateway in &self.gateways {
                w.start("gateway").attr("name", &gateway.name).open_end();
                w.items("param", &gateway.params);
                w.close("gateway");
            }
            w.close("gateways");
        }
        w.close("user");
    }
}

/// A sofia `<gateway>` (SIP trunk) under a user.
#[derive(Debug, Clone)]
pub struct Gateway<'a> {
    name: Cow<'a, str>,
    params: Pairs<'a>,
}

impl<'a> Gateway<'a> {
    /// A gateway by name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// A gateway `<param>` (`realm`, `username`, `password`, `register`, `proxy`...).
    pub fn param(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_hash_is_md5_of_user_realm_password() {
        // Digests computed independently (Python's hashlib).
        assert_eq!(
            a1_hash("1000", "example.com", "secret"),
            "3c95c08f39ec8750494dd758dafd0827"
        );
        assert_eq!(a1_hash("", "", ""), "4501c091b0366d76ea3218b6cfdd8097");
    }
}
