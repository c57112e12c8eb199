//! The rules for each kind of value an API command line carries, one function per kind, so a
//! UUID, a dialplan word, a variable or a cause is checked the same way in every command.

use super::ApiError;
use crate::proto::HangupCause;

/// Writes a channel UUID (`uuid_*` commands, `sched_hangup`): one word.
///
/// ```
/// let mut out = String::new();
/// esl::api::write_uuid(&mut out, "uuid", "0a9c5e84-7e0b")?;
/// assert_eq!(out, "0a9c5e84-7e0b");
/// assert!(esl::api::write_uuid(&mut out, "uuid", "a b").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_uuid(out: &mut String, field: &'static str, uuid: &str) -> Result<(), ApiError> {
    write_word(out, field, uuid)
}

/// Writes a part that must be one word (extension, dialplan, context, user, gateway, number,
/// application, path...): non-empty, without whitespace or control characters.
///
/// ```
/// let mut out = String::new();
/// esl::api::write_word(&mut out, "extension", "1000")?;
/// assert_eq!(out, "1000");
/// assert!(esl::api::write_word(&mut out, "extension", "1000 &kill").is_err());
/// assert!(esl::api::write_word(&mut out, "extension", "").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_word(out: &mut String, field: &'static str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::NotAWord {
            field,
            value: value.to_owned(),
        });
    }
    out.push_str(value);
    Ok(())
}

/// Writes free text that runs to the end of the command line (a variable's value in
/// `uuid_setvar`, an application's argument): anything but a line break.
///
/// ```
/// let mut out = String::new();
/// esl::api::write_line(&mut out, "value", "Sales, UK")?;
/// assert_eq!(out, "Sales, UK");
/// assert!(esl::api::write_line(&mut out, "value", "a\nb").is_err());
/// # Ok::<(), esl::api::ApiError>(())
/// ```
pub fn write_line(out: &mut String, field: &'static str, value: &str) -> Result<(), ApiError> {
    if value.contains(['\n', '\r']) {
        return Err(ApiError::Unencodable {
            field,
            value: value.to_owned(),
        });
    }
    out.push_str(value);
    Ok(())
}

/// Writes a hangup cause: a known cause as FreeSWITCH names it; other text must be one word.
pub(crate) fn write_cause(out: &mut String, cause: &HangupCause) -> Result<(), ApiError> {
    write_word(out, "cause", cause.as_str())
}

/// Writes a channel variable's name: ASCII letters, digits, `_`, `-` and `.`.
pub(crate) fn write_variable_name(out: &mut String, name: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(ApiError::NotAWord {
            field: "variable name",
            value: name.to_owned(),
        });
    }
    out.push_str(name);
    Ok(())
}

/// Writes a variable's value inside originate's `{...}`: commas and quotes are escaped, and a
/// value with spaces, commas or quotes is single-quoted. Braces and line breaks cannot be
/// carried there and are refused.
pub(crate) fn write_braced_variable_value(out: &mut String, value: &str) -> Result<(), ApiError> {
    if value.contains(['{', '}', '\n', '\r']) {
        return Err(ApiError::Unencodable {
            field: "variable value",
            value: value.to_owned(),
        });
    }
    let quoted = value.contains([' ', '\t', '\'', ',']);
    if quoted {
        out.push('\'');
    }
    for c in value.chars() {
        match c {
            ',' => out.push_str("\\,"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    if quoted {
        out.push('\'');
    }
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
    write_word(out, "extension", extension)?;
    if dialplan.is_some() || context.is_some() {
        out.push(' ');
        write_word(out, "dialplan", dialplan.unwrap_or("XML"))?;
    }
    if let Some(context) = context {
        out.push(' ');
        write_word(out, "context", context)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braced_values_are_escaped_and_quoted() {
        let mut out = String::new();
        write_braced_variable_value(&mut out, "it's a, b").unwrap();
        assert_eq!(out, "'it\\'s a\\, b'");
    }

    #[test]
    fn braced_values_cannot_close_the_braces() {
        for value in ["}user/evil", "{x", "a\nb", "a\rb"] {
            assert!(write_braced_variable_value(&mut String::new(), value).is_err());
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
    fn unknown_causes_must_still_be_one_word() {
        let mut out = String::new();
        write_cause(&mut out, &HangupCause::Other("NEW_CAUSE".into())).unwrap();
        assert_eq!(out, "NEW_CAUSE");
        assert!(write_cause(&mut out, &HangupCause::Other("A &kill".into())).is_err());
        assert!(write_cause(&mut out, &HangupCause::Other(String::new())).is_err());
    }
}
