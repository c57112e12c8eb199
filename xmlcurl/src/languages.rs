//! The `languages` section: phrase macros (what `say`/`phrase` play).

use crate::document::Document;
use crate::writer::XmlWriter;
use std::borrow::Cow;

/// A `languages` document with one language's phrase macros.
///
/// ```
/// use xmlcurl::{Document, Language, PhraseMacro};
///
/// let xml = Language::new("en", "en")
///     .sound_prefix("/usr/share/freeswitch/sounds/en/us/callie")
///     .phrase(
///         PhraseMacro::new("queue_position", "^(\\d+)$")
///             .on_match("play-file", "ivr/ivr-you_are_number.wav")
///             .on_match("say", "$1")
///             .on_no_match("play-file", "ivr/ivr-please_hold.wav"),
///     )
///     .to_xml();
/// assert!(String::from_utf8(xml).unwrap().contains(r#"<macro name="queue_position">"#));
/// ```
#[derive(Debug, Clone)]
pub struct Language<'a> {
    name: Cow<'a, str>,
    say_module: Cow<'a, str>,
    sound_prefix: Option<Cow<'a, str>>,
    macros: Vec<PhraseMacro<'a>>,
}

impl<'a> Language<'a> {
    /// A language (`en`) and the say module that speaks numbers and dates in it.
    pub fn new(name: impl Into<Cow<'a, str>>, say_module: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            say_module: say_module.into(),
            sound_prefix: None,
            macros: Vec::new(),
        }
    }

    /// `sound-prefix`: where the language's sound files are.
    pub fn sound_prefix(mut self, prefix: impl Into<Cow<'a, str>>) -> Self {
        self.sound_prefix = Some(prefix.into());
        self
    }

    /// Adds a phrase macro.
    pub fn phrase(mut self, phrase: PhraseMacro<'a>) -> Self {
        self.macros.push(phrase);
        self
    }
}

impl Document for Language<'_> {
    fn write_xml(&self, out: &mut Vec<u8>) {
        let mut w = XmlWriter::document(out);
        w.start("section").attr("name", "languages").open_end();
        w.start("language")
            .attr("name", &self.name)
            .attr("say-module", &self.say_module)
            .attr_opt("sound-prefix", self.sound_prefix.as_deref())
            .open_end();
        w.open("phrases");
        w.open("macros");
        for phrase in &self.macros {
            w.start("macro").attr("name", &phrase.name).open_end();
            w.start("input").attr("pattern", &phrase.pattern).open_end();
            for (element, actions) in [
                ("match", &phrase.on_match),
                ("nomatch", &phrase.on_no_match),
            ] {
                if actions.is_empty() {
                    continue;
                }
                w.open(element);
                for (function, data) in actions {
                    w.start("action")
                        .attr("function", function)
                        .attr("data", data)
                        .empty_end();
                }
                w.close(element);
            }
            w.close("input");
            w.close("macro");
        }
        w.close("macros");
        w.close("phrases");
        w.close("language");
        w.close("section");
        w.finish();
    }
}

type Actions<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A phrase `<macro>` with one `<input pattern>`.
#[derive(Debug, Clone)]
pub struct PhraseMacro<'a> {
    name: Cow<'a, str>,
    pattern: Cow<'a, str>,
    on_match: Actions<'a>,
    on_no_match: Actions<'a>,
}

impl<'a> PhraseMacro<'a> {
    /// A macro by name whose input is matched against `pattern`.
    pub fn new(name: impl Into<Cow<'a, str>>, pattern: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            pattern: pattern.into(),
            on_match: Vec::new(),
            on_no_match: Vec::new(),
        }
    }

    /// An action when the input matches (`play-file`, `say`, `speak-text`, `execute`...).
    pub fn on_match(
        mut self,
        function: impl Into<Cow<'a, str>>,
        data: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.on_match.push((function.into(), data.into()));
        self
    }

    /// An action when it does not.
    pub fn on_no_match(
        mut self,
        function: impl Into<Cow<'a, str>>,
        data: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.on_no_match.push((function.into(), data.into()));
        self
    }
}
