//! The `dialplan` section: contexts, extensions, conditions (nested, with regex and time
//! attributes), actions and anti-actions.

use crate::document::Document;
use crate::writer::XmlWriter;
use std::borrow::Cow;

/// A `dialplan` document.
///
/// ```
/// use xmlcurl::{Condition, Context, Dialplan, Document, Extension};
///
/// let xml = Dialplan::new()
///     .context(Context::new("default").extension(
///         Extension::new("local_1000").condition(
///             Condition::new("destination_number", "^(10[01][0-9])$")
///                 .action("set", Some("call_timeout=30"))
///                 .action("bridge", Some("user/$1@${domain_name}"))
///                 .anti_action("hangup", Some("NO_ROUTE_DESTINATION")),
///         ),
///     ))
///     .to_xml();
/// assert!(String::from_utf8(xml).unwrap().contains(r#"<action application="bridge" data="user/$1@${domain_name}"/>"#));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dialplan<'a> {
    description: Option<Cow<'a, str>>,
    contexts: Vec<Context<'a>>,
}

impl<'a> Dialplan<'a> {
    /// An empty dialplan section.
    pub fn new() -> Self {
        Self::default()
    }

    /// The section's `description` (shown in FreeSWITCH's logs).
    pub fn description(mut self, description: impl Into<Cow<'a, str>>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a context.
    pub fn context(mut self, context: Context<'a>) -> Self {
        self.contexts.push(context);
        self
    }
}

impl Document for Dialplan<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        let mut w = XmlWriter::document(out);
        w.start("section")
            .attr("name", "dialplan")
            .attr_opt("description", self.description.as_deref())
            .open_end();
        for context in &self.contexts {
            w.start("context").attr("name", &context.name).open_end();
            for extension in &context.extensions {
                extension.write(&mut w);
            }
            w.close("context");
        }
        w.close("section");
        w.finish();
    }
}

/// A `<context>`.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    name: Cow<'a, str>,
    extensions: Vec<Extension<'a>>,
}

impl<'a> Context<'a> {
    /// A context by name (the caller's `Caller-Context`).
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            extensions: Vec::new(),
        }
    }

    /// Adds an extension; FreeSWITCH tries them in order.
    pub fn extension(mut self, extension: Extension<'a>) -> Self {
        self.extensions.push(extension);
        self
    }
}

/// An `<extension>`.
#[derive(Debug, Clone)]
pub struct Extension<'a> {
    name: Cow<'a, str>,
    continue_on_match: bool,
    conditions: Vec<Condition<'a>>,
}

impl<'a> Extension<'a> {
    /// An extension by name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            continue_on_match: false,
            conditions: Vec::new(),
        }
    }

    /// `continue="true"`: keep looking at later extensions after this one matched.
    pub fn continue_on_match(mut self, yes: bool) -> Self {
        self.continue_on_match = yes;
        self
    }

    /// Adds a condition; all must match for the extension to match.
    pub fn condition(mut self, condition: Condition<'a>) -> Self {
        self.conditions.push(condition);
        self
    }

    fn write(&self, w: &mut XmlWriter<'_>) {
        w.start("extension").attr("name", &self.name);
        if self.continue_on_match {
            w.attr("continue", "true");
        }
        w.open_end();
        for condition in &self.conditions {
            condition.write(w);
        }
        w.close("extension");
    }
}

/// When a condition stops the extension (`break`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Stop if it matches.
    OnTrue,
    /// Stop if it does not match (FreeSWITCH's default).
    OnFalse,
    /// Stop whatever the result.
    Always,
    /// Go on whatever the result.
    Never,
}

impl Break {
    fn as_str(self) -> &'static str {
        match self {
            Self::OnTrue => "on-true",
            Self::OnFalse => "on-false",
            Self::Always => "always",
            Self::Never => "never",
        }
    }
}

/// How a condition's `<regex>` children combine (`regex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexMode {
    /// All must match.
    All,
    /// Any may match.
    Any,
    /// Exactly one must match.
    Xor,
}

impl RegexMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Any => "any",
            Self::Xor => "xor",
        }
    }
}

/// The time attributes of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Time {
    Year,
    YearDay,
    Month,
    MonthDay,
    Week,
    MonthWeek,
    WeekDay,
    Hour,
    Minute,
    MinuteOfDay,
    TimeOfDay,
    DateTime,
    TimeZone,
}

impl Time {
    fn attribute(self) -> &'static str {
        match self {
            Self::Year => "year",
            Self::YearDay => "yday",
            Self::Month => "mon",
            Self::MonthDay => "mday",
            Self::Week => "week",
            Self::MonthWeek => "mweek",
            Self::WeekDay => "wday",
            Self::Hour => "hour",
            Self::Minute => "minute",
            Self::MinuteOfDay => "minute-of-day",
            Self::TimeOfDay => "time-of-day",
            Self::DateTime => "date-time",
            Self::TimeZone => "tz",
        }
    }
}

/// What a condition holds, in order.
#[derive(Debug, Clone)]
enum Child<'a> {
    Regex {
        field: Cow<'a, str>,
        expression: Cow<'a, str>,
    },
    Action {
        anti: bool,
        application: Cow<'a, str>,
        data: Option<Cow<'a, str>>,
        inline: bool,
    },
    Condition(Condition<'a>),
}

/// A `<condition>`.
#[derive(Debug, Clone)]
pub struct Condition<'a> {
    field: Option<Cow<'a, str>>,
    expression: Option<Cow<'a, str>>,
    break_on: Option<Break>,
    regex: Option<RegexMode>,
    times: Vec<(Time, Cow<'a, str>)>,
    children: Vec<Child<'a>>,
}

impl<'a> Condition<'a> {
    /// Matches `field` (e.g. `destination_number`, `${tenant_id}`) against a regular
    /// expression; `$1`... capture into the actions.
    pub fn new(field: impl Into<Cow<'a, str>>, expression: impl Into<Cow<'a, str>>) -> Self {
        let mut condition = Self::always();
        condition.field = Some(field.into());
        condition.expression = Some(expression.into());
        condition
    }

    /// A condition without field: it matches, unless its time attributes or regexes say no.
    pub fn always() -> Self {
        Self {
            field: None,
            expression: None,
            break_on: None,
            regex: None,
            times: Vec::new(),
            children: Vec::new(),
        }
    }

    /// `break`.
    pub fn break_on(mut self, when: Break) -> Self {
        self.break_on = Some(when);
        self
    }

    /// `regex="all|any|xor"` with `<regex field expression>` children added by
    /// [`Condition::regex`].
    pub fn regex_mode(mut self, mode: RegexMode) -> Self {
        self.regex = Some(mode);
        self
    }

    /// A `<regex>` child (with [`Condition::regex_mode`]).
    pub fn regex(
        mut self,
        field: impl Into<Cow<'a, str>>,
        expression: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.children.push(Child::Regex {
            field: field.into(),
            expression: expression.into(),
        });
        self
    }

    /// A time attribute, e.g. `(Time::WeekDay, "2-6")`, `(Time::TimeOfDay, "08:00-17:00")`.
    pub fn time(mut self, attribute: Time, value: impl Into<Cow<'a, str>>) -> Self {
        self.times.push((attribute, value.into()));
        self
    }

    /// An `<action>` run when the condition matches.
    pub fn action(self, application: impl Into<Cow<'a, str>>, data: Option<&'a str>) -> Self {
        self.push_action(false, application.into(), data.map(Cow::Borrowed), false)
    }

    /// An `<action>` with owned data.
    pub fn action_owned(self, application: impl Into<Cow<'a, str>>, data: String) -> Self {
        self.push_action(false, application.into(), Some(Cow::Owned(data)), false)
    }

    /// An `<action inline="true">`, run while the dialplan is being parsed (e.g. `set`).
    pub fn inline_action(
        self,
        application: impl Into<Cow<'a, str>>,
        data: Option<&'a str>,
    ) -> Self {
        self.push_action(false, application.into(), data.map(Cow::Borrowed), true)
    }

    /// An `<anti-action>` run when the condition does not match.
    pub fn anti_action(self, application: impl Into<Cow<'a, str>>, data: Option<&'a str>) -> Self {
        self.push_action(true, application.into(), data.map(Cow::Borrowed), false)
    }

    /// A nested condition.
    pub fn condition(mut self, condition: Condition<'a>) -> Self {
        self.children.push(Child::Condition(condition));
        self
    }

    fn push_action(
        mut self,
        anti: bool,
        application: Cow<'a, str>,
        data: Option<Cow<'a, str>>,
        inline: bool,
    ) -> Self {
        self.children.push(Child::Action {
            anti,
            application,
            data,
            inline,
        });
        self
    }

    fn write(&self, w: &mut XmlWriter<'_>) {
        w.start("condition")
            .attr_opt("field", self.field.as_deref())
            .attr_opt("expression", self.expression.as_deref())
            .attr_opt("break", self.break_on.map(Break::as_str))
            .attr_opt("regex", self.regex.map(RegexMode::as_str));
        for (attribute, value) in &self.times {
            w.attr(attribute.attribute(), value);
        }
        if self.children.is_empty() {
            w.empty_end();
            return;
        }
        w.open_end();
        for child in &self.children {
            match child {
                Child::Regex { field, expression } => {
                    w.start("regex")
                        .attr("field", field)
                        .attr("expression", expression)
                        .empty_end();
                }
                Child::Action {
                    anti,
                    application,
                    data,
                    inline,
                } => {
                    w.start(if *anti { "anti-action" } else { "action" })
                        .attr("application", application)
                        .attr_opt("data", data.as_deref());
                    if *inline {
                        w.attr("inline", "true");
                    }
                    w.empty_end();
                }
                Child::Condition(condition) => condition.write(w),
            }
        }
        w.close("condition");
    }
}
