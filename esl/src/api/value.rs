//! The rules for each kind of value an API command line carries, one function per kind, so a
//! UUID, a dialled number, a name, a variable or a cause is checked the same way in every
//! command.
//!
//! The rules are allow-lists. FreeSWITCH gives meaning to many characters inside a dial string
//! or a command line: `,` and `|` separate legs, `:_:` separates enterprise legs, `{...}`,
//! `[...]` and `<...>` carry variables, `^^` changes the separator, `/` separates an
//! endpoint's parts, `@` a user's domain, `${...}` and `$${...}` expand variables and run API
//! commands (`${system(...)}`), a leading `&` runs an application, `\` escapes, `'` quotes and
//! whitespace separates arguments. A value passes only when it is made of characters that mean
//! nothing there.

use super::ApiError;
use crate::proto::HangupCause;

/// Longest dialled number (E.164 allows 15 digits; feature codes and prefixes add a few).
const NUMBER_MAX: usize = 32;

/// Longest name (user, gateway, context, dialplan, application).
const NAME_MAX: usize = 64;

/// Longest domain (DNS).
const DOMAIN_MAX: usize = 253;

/// Longest path or free-text value.
const TEXT_MAX: usize = 4096;

/// A number as dialled: ASCII digits, optionally after one leading `+`, `*` or `#`, at most 32
/// characters. The one grammar for every number that reaches a dial string (bridge, originate,
/// transfer), so that a separator, a variable or an endpoint can never ride in on a number.
///
/// ```
/// use esl::api::DialedNumber;
///
/// assert_eq!(DialedNumber::parse("+441234567")?.as_str(), "+441234567");
/// assert!(DialedNumber::parse("*98").is_ok());
/// for hostile in ["0800,loopback/9995/default", "0901|sofia/gateway/x/1", "{x=y}0901",
///                 "[x=y]0901", "${system(id)}", "&system(id)", "0901\\", "", "++1", "12 34"] {
///     assert!(DialedNumber::parse(hostile).is_err(), "{hostile}");
/// }
/// # Ok::<(), esl::api::ApiError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialedNumber(String);

impl DialedNumber {
    /// Checks `number` against the grammar.
    pub fn parse(number: &str) -> Result<Self, ApiError> {
        if is_dialed_number(number) {
            Ok(DialedNumber(number.to_owned()))
        } else {
            Err(ApiError::NotANumber {
                value: shown(number),
            })
        }
    }

    /// The number as dialled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its digits, without the leading `+`, `*` or `#` (what rating reads).
    ///
    /// ```
    /// assert_eq!(esl::api::DialedNumber::parse("+44123")?.digits(), "44123");
    /// # Ok::<(), esl::api::ApiError>(())
    /// ```
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches(['+', '*', '#'])
    }
}

impl std::fmt::Display for DialedNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DialedNumber {
    type Err = ApiError;

    fn from_str(number: &str) -> Result<Self, ApiError> {
        DialedNumber::parse(number)
    }
}

/// Whether `number` is a dialled number (see [`DialedNumber`]).
///
/// ```
/// assert!(esl::api::is_dialed_number("#31"));
/// assert!(esl::api::is_dialed_number("0800123"));
/// assert!(!esl::api::is_dialed_number("0800,loopback/9995/default"));
/// ```
pub fn is_dialed_number(number: &str) -> bool {
    let digits = number.strip_prefix(['+', '*', '#']).unwrap_or(number);
    number.len() <= NUMBER_MAX && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `name` is a name FreeSWITCH can carry anywhere (a directory user, an extension, a
/// gateway, a context, a dialplan): 1 to 64 ASCII letters, digits, `_`, `-` and `.`, not
/// starting with `-` or `.`.
///
/// ```
/// assert!(esl::api::is_name("sales_1.uk"));
/// for hostile in ["1000@evil", "a/b", "a,b", "-x", ".", "${x}", ""] {
///     assert!(!esl::api::is_name(hostile), "{hostile}");
/// }
/// ```
pub fn is_name(name: &str) -> bool {
    name.len() <= NAME_MAX
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `domain` is a SIP domain as a directory names it: a DNS name or IPv4 address (1 to
/// 253 ASCII letters, digits, `-` and `.`, not starting with either).
///
/// ```
/// assert!(esl::api::is_domain("pbx.example.com"));
/// assert!(esl::api::is_domain("127.0.0.1"));
/// assert!(!esl::api::is_domain("a.com/loopback"));
/// ```
pub fn is_domain(domain: &str) -> bool {
    domain.len() <= DOMAIN_MAX
        && domain
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}

/// A value as shown in an error: at most 64 characters, so a hostile megabyte is not copied
/// into every log line.
fn shown(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

fn not_a(field: &'static str, value: &str) -> ApiError {
    ApiError::NotAWord {
        field,
        value: shown(value),
    }
}

fn unencodable(field: &'static str, value: &str) -> ApiError {
    ApiError::Unencodable {
        field,
        value: shown(value),
    }
}

/// Writes a channel UUID (`uuid_*` commands, `sched_hangup`): 1 to 64 ASCII letters, digits and
/// `-`.
///
/// ```
/// let mut out = String::new();
/// esl::api::write_uuid(&mut out, "uuid", "0a9c5e84-7e0b")?;
/// assert_eq!(out, "0a9c5e84-7e0b");
/// assert!(esl::api::write_uuid(&mut out, "uuid", "a b").is_err());
/// assert!(esl::api::write_uuid(&mut out, "uuid", "a,b").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_uuid(out: &mut String, field: &'static str, uuid: &str) -> Result<(), ApiError> {
    let valid = !uuid.is_empty()
        && uuid.len() <= NAME_MAX
        && uuid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(not_a(field, uuid));
    }
    out.push_str(uuid);
    Ok(())
}

/// Writes a name (see [`is_name`]): a directory user, gateway, context or dialplan.
///
/// ```
/// let mut out = String::new();
/// esl::api::write_name(&mut out, "gateway", "trunk-1")?;
/// assert_eq!(out, "trunk-1");
/// assert!(esl::api::write_name(&mut out, "gateway", "x/1").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_name(out: &mut String, field: &'static str, name: &str) -> Result<(), ApiError> {
    if !is_name(name) {
        return Err(not_a(field, name));
    }
    out.push_str(name);
    Ok(())
}

/// Writes a dialled number (see [`DialedNumber`]).
pub(crate) fn write_number(
    out: &mut String,
    field: &'static str,
    number: &str,
) -> Result<(), ApiError> {
    if !is_dialed_number(number) {
        return Err(not_a(field, number));
    }
    out.push_str(number);
    Ok(())
}

/// Writes a dialplan extension: a dialled number or a name.
pub(crate) fn write_dialplan_extension(out: &mut String, extension: &str) -> Result<(), ApiError> {
    if !is_dialed_number(extension) && !is_name(extension) {
        return Err(not_a("extension", extension));
    }
    out.push_str(extension);
    Ok(())
}

/// Writes a SIP domain (see [`is_domain`]).
pub(crate) fn write_domain(out: &mut String, domain: &str) -> Result<(), ApiError> {
    if !is_domain(domain) {
        return Err(not_a("domain", domain));
    }
    out.push_str(domain);
    Ok(())
}

/// Writes an application's name: 1 to 64 ASCII lowercase letters, digits and `_`.
pub(crate) fn write_application(out: &mut String, app: &str) -> Result<(), ApiError> {
    let valid = !app.is_empty()
        && app.len() <= NAME_MAX
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(not_a("application", app));
    }
    out.push_str(app);
    Ok(())
}

/// Characters no free-text value may carry: line breaks end the command, `$` starts an
/// expansion (`${system(...)}` runs a command), and the rest are refused wherever the value
/// could be read as part of a dial string.
fn is_expansion_or_break(c: char) -> bool {
    c == '$' || c.is_control()
}

/// Writes a part that must be one word (a file path, as `uuid_record` takes it): printable
/// ASCII without whitespace, `$`, quotes, `\`, `&` or any dial-string separator or bracket
/// (`, | ; { } [ ] < > ^`).
///
/// ```
/// let mut out = String::new();
/// esl::api::write_word(&mut out, "path", "/dev/shm/rec/1000.wav")?;
/// assert_eq!(out, "/dev/shm/rec/1000.wav");
/// for hostile in ["1000 &kill", "", "a,b", "a|b", "${x}", "&system(id)", "a\\"] {
///     assert!(esl::api::write_word(&mut out, "path", hostile).is_err(), "{hostile}");
/// }
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_word(out: &mut String, field: &'static str, value: &str) -> Result<(), ApiError> {
    let special = |b: u8| {
        matches!(
            b,
            b'$' | b'\''
                | b'"'
                | b'\\'
                | b'&'
                | b','
                | b'|'
                | b';'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'^'
        )
    };
    let valid = !value.is_empty()
        && value.len() <= TEXT_MAX
        && value.bytes().all(|b| b.is_ascii_graphic() && !special(b));
    if !valid {
        return Err(not_a(field, value));
    }
    out.push_str(value);
    Ok(())
}

/// Writes free text that runs to the end of the command line (a variable's value in
/// `uuid_setvar`, an application's argument): anything but a line break, a control character
/// or `$` (FreeSWITCH expands `${...}` in such text, and `${system(...)}` runs a command).
///
/// ```
/// let mut out = String::new();
/// esl::api::write_line(&mut out, "value", "Sales, UK")?;
/// assert_eq!(out, "Sales, UK");
/// assert!(esl::api::write_line(&mut out, "value", "a\nb").is_err());
/// assert!(esl::api::write_line(&mut out, "value", "${system(id)}").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_line(out: &mut String, field: &'static str, value: &str) -> Result<(), ApiError> {
    if value.len() > TEXT_MAX || value.contains(is_expansion_or_break) {
        return Err(unencodable(field, value));
    }
    out.push_str(value);
    Ok(())
}

/// Writes a hangup cause: a known cause as FreeSWITCH names it; other text must be a name.
pub(crate) fn write_cause(out: &mut String, cause: &HangupCause) -> Result<(), ApiError> {
    write_name(out, "cause", cause.as_str())
}

/// Writes a channel variable's name: ASCII letters, digits, `_`, `-` and `.`.
pub(crate) fn write_variable_name(out: &mut String, name: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > NAME_MAX || !name.chars().all(allowed) {
        return Err(not_a("variable name", name));
    }
    out.push_str(name);
    Ok(())
}

/// Writes a variable's value inside originate's `{...}`. FreeSWITCH reads the command line
/// twice: `originate` first splits its arguments on spaces (stripping `'` quotes and reading
/// `\` escapes), then splits the `{...}` block on `,` (reading quotes and escapes again). A
/// value with spaces is therefore single-quoted for the first pass and a `,` is written `\,`
/// for the second. What two passes cannot carry the same way in every FreeSWITCH version is
/// refused: `\`, `'` and `"` (a value ending in `\` would escape the separator after it, a
/// lone quote would swallow the variables after it), line breaks and control characters, `$`
/// (expanded later, and `${system(...)}` runs a command), brackets of any kind and the leg
/// separators `|` and `:_:`.
pub(crate) fn write_braced_variable_value(out: &mut String, value: &str) -> Result<(), ApiError> {
    let refused = |c: char| {
        is_expansion_or_break(c)
            || matches!(
                c,
                '{' | '}' | '[' | ']' | '<' | '>' | '|' | '\\' | '\'' | '"'
            )
    };
    if value.len() > TEXT_MAX || value.contains(refused) || value.contains(":_:") {
        return Err(unencodable("variable value", value));
    }
    let quoted = value.contains(' ');
    if quoted {
        out.push('\'');
    }
    for c in value.chars() {
        match c {
            ',' => out.push_str("\\,"),
            c => out.push(c),
        }
    }
    if quoted {
        out.push('\'');
    }
    Ok(())
}

/// Writes an application's argument in originate's `&app(arg)`: one argument of the command
/// line, so no whitespace, quote or `\\` (the first pass would split or unescape it), and no
/// `$` or control character.
pub(crate) fn write_application_argument(out: &mut String, arg: &str) -> Result<(), ApiError> {
    let refused =
        |c: char| is_expansion_or_break(c) || c.is_whitespace() || matches!(c, '\'' | '"' | '\\');
    if arg.len() > TEXT_MAX || arg.contains(refused) {
        return Err(unencodable("application argument", arg));
    }
    out.push_str(arg);
    Ok(())
}

/// Writes a dialplan target: `<extension> [<dialplan> [<context>]]`. A context without a
/// dialplan gets FreeSWITCH's default dialplan, `XML`, since the two are positional.
pub(crate) fn write_extension(
    out: &mut String,
    extension: &str,
    dialplan: Option<&str>,
    context: Option<&str>,
) -> Result<(), ApiError> {
    write_dialplan_extension(out, extension)?;
    if dialplan.is_some() || context.is_some() {
        out.push(' ');
        write_name(out, "dialplan", dialplan.unwrap_or("XML"))?;
    }
    if let Some(context) = context {
        out.push(' ');
        write_name(out, "context", context)?;
    }
    Ok(())
}

/// The strings of the attacks on dial strings that reached FreeSWITCH, or could have: every
/// rule's tests try them.
#[cfg(test)]
pub(crate) const HOSTILE: [&str; 7] = [
    "0800,loopback/9995/default",
    "0901|sofia/gateway/x/1",
    "{x=y}0901",
    "[x=y]0901",
    "${system(id)}",
    "&system(id)",
    "0901\\",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hostile_string_is_a_number_a_name_or_an_extension() {
        for hostile in HOSTILE {
            assert!(!is_dialed_number(hostile), "{hostile}");
            assert!(!is_name(hostile), "{hostile}");
            assert!(!is_domain(hostile), "{hostile}");
            assert!(write_dialplan_extension(&mut String::new(), hostile).is_err());
            assert!(write_word(&mut String::new(), "path", hostile).is_err());
            assert!(write_uuid(&mut String::new(), "uuid", hostile).is_err());
        }
    }

    #[test]
    fn numbers_are_digits_after_one_optional_prefix() {
        for number in [
            "0",
            "0800123",
            "+4412345",
            "*98",
            "#31",
            "12345678901234567890123456789012",
        ] {
            assert!(is_dialed_number(number), "{number}");
        }
        for number in [
            "",
            "+",
            "+*1",
            "1+2",
            "1*",
            "0800 1",
            "0x10",
            "١٢٣",
            "123456789012345678901234567890123",
        ] {
            assert!(!is_dialed_number(number), "{number}");
        }
    }

    #[test]
    fn braced_values_are_escaped_and_quoted() {
        let mut out = String::new();
        write_braced_variable_value(&mut out, "Sales, UK").unwrap();
        assert_eq!(out, "'Sales\\, UK'");
        let mut out = String::new();
        write_braced_variable_value(&mut out, "a,b").unwrap();
        assert_eq!(out, "a\\,b");
    }

    #[test]
    fn what_two_parsing_passes_cannot_carry_is_refused() {
        // A trailing backslash would escape the next separator, and with it the next
        // variable; an escaped comma written by the caller would become a separator after
        // FreeSWITCH's first pass (`x\,execute_on_answer=...`); a lone quote would swallow the
        // variables after it.
        for value in [
            "value\\",
            "x\\,execute_on_answer=system touch /tmp/x",
            "it's",
            "a\"b",
        ] {
            assert!(
                write_braced_variable_value(&mut String::new(), value).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn application_arguments_are_one_argument() {
        let mut out = String::new();
        write_application_argument(&mut out, "tone_stream://%(1000,0,440);loops=5").unwrap();
        for arg in ["a b", "a\tb", "it's", "a\\", "${x}"] {
            assert!(
                write_application_argument(&mut String::new(), arg).is_err(),
                "{arg}"
            );
        }
    }

    #[test]
    fn braced_values_cannot_close_the_braces_or_expand() {
        for value in [
            "}user/evil",
            "{x",
            "a\nb",
            "a\rb",
            "${system(id)}",
            "$${x}",
            "[x=y]",
            "<x=y>",
            "a|sofia/gateway/x/1",
            "a:_:b",
        ] {
            assert!(
                write_braced_variable_value(&mut String::new(), value).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn variable_names_are_letters_digits_and_separators_only() {
        for name in ["origination_uuid", "sip_h_X-Tenant", "a.b"] {
            assert!(
                write_variable_name(&mut String::new(), name).is_ok(),
                "{name}"
            );
        }
        for name in ["", "a}b", "a=b", "a,b", "a b", "a\nb"] {
            assert!(
                write_variable_name(&mut String::new(), name).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn a_context_without_a_dialplan_gets_the_default_dialplan() {
        let mut out = String::new();
        write_extension(&mut out, "1000", None, Some("default")).unwrap();
        assert_eq!(out, "1000 XML default");
        let mut out = String::new();
        write_extension(&mut out, "1000", None, None).unwrap();
        assert_eq!(out, "1000");
    }

    #[test]
    fn unknown_causes_must_still_be_one_name() {
        let mut out = String::new();
        write_cause(&mut out, &HangupCause::Other("NEW_CAUSE".into())).unwrap();
        assert_eq!(out, "NEW_CAUSE");
        assert!(write_cause(&mut out, &HangupCause::Other("A &kill".into())).is_err());
        assert!(write_cause(&mut out, &HangupCause::Other(String::new())).is_err());
    }

    #[test]
    fn errors_show_at_most_64_characters_of_a_hostile_value() {
        let huge = "x".repeat(2 << 20) + ",";
        let error = write_dialplan_extension(&mut String::new(), &huge).unwrap_err();
        assert!(error.to_string().len() < 200);
    }
}
