//! The `configuration` section: `callcenter.conf`, `ivr.conf` and `acl.conf`.

use crate::document::Document;
use crate::writer::XmlWriter;
use std::borrow::Cow;

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn write_configuration(
    out: &mut Vec<u8>,
    name: &str,
    description: &str,
    body: impl FnOnce(&mut XmlWriter<'_>),
) {
    let mut w = XmlWriter::document(out);
    w.start("section").attr("name", "configuration").open_end();
    w.start("configuration")
        .attr("name", name)
        .attr("description", description)
        .open_end();
    body(&mut w);
    w.close("configuration");
    w.close("section");
    w.finish();
}

/// `callcenter.conf`: settings, queues, agents and tiers for mod_callcenter.
///
/// ```
/// use xmlcurl::{Agent, CallCenter, Document, Queue, Tier};
///
/// let xml = CallCenter::new()
///     .setting("odbc-dsn", "pgsql://hostaddr=127.0.0.1 dbname=cc")
///     .queue(Queue::new("support@acme").param("strategy", "longest-idle-agent"))
///     .agent(Agent::new("1000@acme", "user/1000@acme").status("Available").wrap_up_time(10))
///     .tier(Tier::new("1000@acme", "support@acme").level(1).position(1))
///     .to_xml();
/// let text = String::from_utf8(xml).unwrap();
/// assert!(text.contains(r#"<agent name="1000@acme" type="callback" contact="user/1000@acme" status="Available" wrap-up-time="10"/>"#));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallCenter<'a> {
    settings: Pairs<'a>,
    queues: Vec<Queue<'a>>,
    agents: Vec<Agent<'a>>,
    tiers: Vec<Tier<'a>>,
}

impl<'a> CallCenter<'a> {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `<settings>` param.
    pub fn setting(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Adds a queue.
    pub fn queue(mut self, queue: Queue<'a>) -> Self {
        self.queues.push(queue);
        self
    }

    /// Adds an agent.
    pub fn agent(mut self, agent: Agent<'a>) -> Self {
        self.agents.push(agent);
        self
    }

    /// Adds a tier (an agent in a queue).
    pub fn tier(mut self, tier: Tier<'a>) -> Self {
        self.tiers.push(tier);
        self
    }
}

impl Document for CallCenter<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        write_configuration(out, "callcenter.conf", "CallCenter", |w| {
            w.pairs("settings", "param", &self.settings);
            if !self.queues.is_empty() {
                w.open("queues");
                for queue in &self.queues {
                    w.start("queue").attr("name", &queue.name);
                    if queue.params.is_empty() {
                        w.empty_end();
                        continue;
                    }
                    w.open_end();
                    w.items("param", &queue.params);
                    w.close("queue");
                }
                w.close("queues");
            }
            if !self.agents.is_empty() {
                w.open("agents");
                for agent in &self.agents {
                    w.start("agent")
                        .attr("name", &agent.name)
                        .attr("type", &agent.kind)
                        .attr("contact", &agent.contact)
                        .attr_opt("status", agent.status.as_deref());
                    for (name, value) in &agent.numbers {
                        w.attr_num(name, *value);
                    }
                    w.empty_end();
                }
                w.close("agents");
            }
            if !self.tiers.is_empty() {
                w.open("tiers");
                for tier in &self.tiers {
                    w.start("tier")
                        .attr("agent", &tier.agent)
                        .attr("queue", &tier.queue)
                        .attr_num("level", tier.level)
                        .attr_num("position", tier.position)
                        .empty_end();
                }
                w.close("tiers");
            }
        });
    }
}

/// A call-center `<queue>`.
#[derive(Debug, Clone)]
pub struct Queue<'a> {
    name: Cow<'a, str>,
    params: Pairs<'a>,
}

impl<'a> Queue<'a> {
    /// A queue by name (`support@tenant`).
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// A queue param (`strategy`, `moh-sound`, `max-wait-time`...).
    pub fn param(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
}

/// A call-center `<agent>`.
#[derive(Debug, Clone)]
pub struct Agent<'a> {
    name: Cow<'a, str>,
    kind: Cow<'a, str>,
    contact: Cow<'a, str>,
    status: Option<Cow<'a, str>>,
    numbers: Vec<(&'static str, u64)>,
}

impl<'a> Agent<'a> {
    /// A `callback` agent reached at `contact` (a dial string).
    pub fn new(name: impl Into<Cow<'a, str>>, contact: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            kind: Cow::Borrowed("callback"),
            contact: contact.into(),
            status: None,
            numbers: Vec::new(),
        }
    }

    /// `type` (`callback` or `uuid-standby`).
    pub fn kind(mut self, kind: impl Into<Cow<'a, str>>) -> Self {
        self.kind = kind.into();
        self
    }

    /// `status` (`Available`, `Logged Out`, `On Break`...).
    pub fn status(mut self, status: impl Into<Cow<'a, str>>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// `max-no-answer`.
    pub fn max_no_answer(self, count: u64) -> Self {
        self.number("max-no-answer", count)
    }

    /// `wrap-up-time`, seconds.
    pub fn wrap_up_time(self, seconds: u64) -> Self {
        self.number("wrap-up-time", seconds)
    }

    /// `reject-delay-time`, seconds.
    pub fn reject_delay_time(self, seconds: u64) -> Self {
        self.number("reject-delay-time", seconds)
    }

    /// `busy-delay-time`, seconds.
    pub fn busy_delay_time(self, seconds: u64) -> Self {
        self.number("busy-delay-time", seconds)
    }

    /// `no-answer-delay-time`, seconds.
    pub fn no_answer_delay_time(self, seconds: u64) -> Self {
        self.number("no-answer-delay-time", seconds)
    }

    fn number(mut self, name: &'static str, value: u64) -> Self {
        self.numbers.push((name, value));
        self
    }
}

/// A call-center `<tier>`: which agent serves which queue, at what level and position.
#[derive(Debug, Clone)]
pub struct Tier<'a> {
    agent: Cow<'a, str>,
    queue: Cow<'a, str>,
    level: u64,
    position: u64,
}

impl<'a> Tier<'a> {
    /// Agent `agent` in queue `queue`, level 1, position 1.
    pub fn new(agent: impl Into<Cow<'a, str>>, queue: impl Into<Cow<'a, str>>) -> Self {
        Self {
            agent: agent.into(),
            queue: queue.into(),
            level: 1,
            position: 1,
        }
    }

    /// `level`.
    pub fn level(mut self, level: u64) -> Self {
        self.level = level;
        self
    }

    /// `position`.
    pub fn position(mut self, position: u64) -> Self {
        self.position = position;
        self
    }
}

/// `ivr.conf`: menus for mod_dptools' `ivr` application.
///
/// ```
/// use xmlcurl::{Document, Ivr, Menu};
///
/// let xml = Ivr::new()
///     .menu(
///         Menu::new("main")
///             .attr("greet-long", "ivr/welcome.wav")
///             .attr("timeout", "10000")
///             .entry("menu-exec-app", "1", Some("transfer 1000 XML default"))
///             .entry("menu-top", "*", None::<&str>),
///     )
///     .to_xml();
/// assert!(String::from_utf8(xml).unwrap().contains(r#"<entry action="menu-exec-app" digits="1" param="transfer 1000 XML default"/>"#));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Ivr<'a> {
    menus: Vec<Menu<'a>>,
}

impl<'a> Ivr<'a> {
    /// No menus yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a menu.
    pub fn menu(mut self, menu: Menu<'a>) -> Self {
        self.menus.push(menu);
        self
    }
}

impl Document for Ivr<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        write_configuration(out, "ivr.conf", "IVR menus", |w| {
            w.open("menus");
            for menu in &self.menus {
                w.start("menu").attr("name", &menu.name);
                for (name, value) in &menu.attrs {
                    w.attr(name, value);
                }
                w.open_end();
                for entry in &menu.entries {
                    w.start("entry")
                        .attr("action", &entry.action)
                        .attr("digits", &entry.digits)
                        .attr_opt("param", entry.param.as_deref())
                        .empty_end();
                }
                w.close("menu");
            }
            w.close("menus");
        });
    }
}

/// The attributes FreeSWITCH reads on an IVR `<menu>`.
const MENU_ATTRIBUTES: &[&str] = &[
    "greet-long",
    "greet-short",
    "invalid-sound",
    "exit-sound",
    "transfer-sound",
    "timeout",
    "inter-digit-timeout",
    "max-failures",
    "max-timeouts",
    "digit-len",
    "tts-engine",
    "tts-voice",
    "confirm-macro",
    "confirm-key",
    "confirm-attempts",
    "pin",
    "pin-file",
    "bad-pin-file",
    "exec-on-max-failures",
    "exec-on-max-timeouts",
];

/// An IVR `<menu>`.
#[derive(Debug, Clone)]
pub struct Menu<'a> {
    name: Cow<'a, str>,
    attrs: Vec<(&'static str, Cow<'a, str>)>,
    entries: Vec<MenuEntry<'a>>,
}

/// An IVR `<entry>`: action, digits, optional param.
#[derive(Debug, Clone)]
struct MenuEntry<'a> {
    action: Cow<'a, str>,
    digits: Cow<'a, str>,
    param: Option<Cow<'a, str>>,
}

impl<'a> Menu<'a> {
    /// A menu by name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            attrs: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// A menu attribute (`greet-long`, `timeout`, `max-failures`, `digit-len`...). Names outside
    /// the set FreeSWITCH reads are ignored, so no attribute name is ever caller-made.
    pub fn attr(mut self, name: &str, value: impl Into<Cow<'a, str>>) -> Self {
        if let Some(known) = MENU_ATTRIBUTES.iter().find(|known| **known == name) {
            self.attrs.push((known, value.into()));
        }
        self
    }

    /// An `<entry>`: on `digits`, do `action` (`menu-exec-app`, `menu-sub`, `menu-top`,
    /// `menu-back`, `menu-exit`...) with `param`.
    pub fn entry(
        mut self,
        action: impl Into<Cow<'a, str>>,
        digits: impl Into<Cow<'a, str>>,
        param: Option<impl Into<Cow<'a, str>>>,
    ) -> Self {
        self.entries.push(MenuEntry {
            action: action.into(),
            digits: digits.into(),
            param: param.map(Into::into),
        });
        self
    }
}

/// `acl.conf`: network lists (trunks allowed to send calls, for instance).
///
/// ```
/// use xmlcurl::{Acl, AclList, Document};
///
/// let xml = Acl::new()
///     .list(AclList::new("trunks", false).allow_cidr("203.0.113.10/32").deny_domain("blocked.example"))
///     .to_xml();
/// assert!(String::from_utf8(xml).unwrap().contains(r#"<node type="allow" cidr="203.0.113.10/32"/>"#));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Acl<'a> {
    lists: Vec<AclList<'a>>,
}

impl<'a> Acl<'a> {
    /// No lists yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a list.
    pub fn list(mut self, list: AclList<'a>) -> Self {
        self.lists.push(list);
        self
    }
}

impl Document for Acl<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        write_configuration(out, "acl.conf", "Network Lists", |w| {
            w.open("network-lists");
            for list in &self.lists {
                w.start("list")
                    .attr("name", &list.name)
                    .attr(
                        "default",
                        if list.allow_by_default {
                            "allow"
                        } else {
                            "deny"
                        },
                    )
                    .open_end();
                for node in &list.nodes {
                    w.start("node")
                        .attr("type", if node.allow { "allow" } else { "deny" })
                        .attr(if node.is_domain { "domain" } else { "cidr" }, &node.target)
                        .empty_end();
                }
                w.close("list");
            }
            w.close("network-lists");
        });
    }
}

#[derive(Debug, Clone)]
struct AclNode<'a> {
    allow: bool,
    is_domain: bool,
    target: Cow<'a, str>,
}

/// One ACL `<list>`.
#[derive(Debug, Clone)]
pub struct AclList<'a> {
    name: Cow<'a, str>,
    allow_by_default: bool,
    nodes: Vec<AclNode<'a>>,
}

impl<'a> AclList<'a> {
    /// A list by name; `allow_by_default` sets `default="allow"` (else `deny`).
    pub fn new(name: impl Into<Cow<'a, str>>, allow_by_default: bool) -> Self {
        Self {
            name: name.into(),
            allow_by_default,
            nodes: Vec::new(),
        }
    }

    fn node(mut self, allow: bool, is_domain: bool, target: Cow<'a, str>) -> Self {
        self.nodes.push(AclNode {
            allow,
            is_domain,
            target,
        });
        self
    }

    /// Allows a network (`cidr`).
    pub fn allow_cidr(self, cidr: impl Into<Cow<'a, str>>) -> Self {
        self.node(true, false, cidr.into())
    }

    /// Denies a network.
    pub fn deny_cidr(self, cidr: impl Into<Cow<'a, str>>) -> Self {
        self.node(false, false, cidr.into())
    }

    /// Allows the registered users of a directory domain.
    pub fn allow_domain(self, domain: impl Into<Cow<'a, str>>) -> Self {
        self.node(true, true, domain.into())
    }

    /// Denies the registered users of a directory domain.
    pub fn deny_domain(self, domain: impl Into<Cow<'a, str>>) -> Self {
        self.node(false, true, domain.into())
    }
}
